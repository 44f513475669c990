/**
 * One gossip agent in its own process, for tests and experiments with real
 * processes (the gateway runs the same agent in-process when `gossip:` is
 * configured). Usage:
 *
 *   node --import tsx src/gossip/standalone.ts '<json options>'
 *
 * options: { nodeId, region, bind, seeds?, keys?, profile?, label?, protocol?, health? }
 *
 * It prints one JSON object per line on stdout: {"event":"ready",address},
 * {"event":"member",name,state,incarnation,region} for every state change it
 * sees, {"event":"joined",contacted} or {"event":"join-error",message}, and
 * answers commands read as JSON lines on stdin:
 *   {"cmd":"members"}            -> {"event":"members","members":[...]}
 *   {"cmd":"stats"}              -> {"event":"stats","stats":{...},"healthScore":n}
 *   {"cmd":"health","health":{}} -> sets this member's region self-health
 *   {"cmd":"leave"}              -> graceful leave, {"event":"left"}, exit 0
 * SIGTERM closes without leaving (like a crash, minus the kill).
 */
import { createInterface } from 'node:readline';
import { GossipAgent } from './agent.ts';
import { createLogger } from '../util/logger.ts';
import type { ProtocolConfig, ProfileName } from './config.ts';
import type { RegionSelfHealth } from '../health/region-health.ts';

interface Options {
  nodeId: string;
  region: string;
  bind: string;
  seeds?: string[];
  keys?: string[];
  profile?: ProfileName;
  label?: string;
  protocol?: Partial<ProtocolConfig>;
  health?: RegionSelfHealth;
  /** Retry joining this long (ms) before reporting join-error. */
  joinFor?: number;
}

function emit(o: unknown): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as Options;
  const logger = createLogger({ level: process.env.EDGEPLANE_LOG_LEVEL ?? 'warn', destination: process.stderr });
  const agent = new GossipAgent({
    config: { bind: opts.bind, seeds: opts.seeds ?? [], keys: opts.keys ?? [], profile: opts.profile ?? 'local', ...(opts.label !== undefined ? { label: opts.label } : {}) },
    nodeId: opts.nodeId,
    region: opts.region,
    logger,
    ...(opts.protocol ? { protocol: opts.protocol } : {}),
  });
  agent.on('change', (e) => {
    if (e.kind === 'member') emit({ event: 'member', name: e.member.name, state: e.member.state, previous: e.previous ?? null, incarnation: e.member.incarnation, region: e.member.region });
    else emit({ event: 'health', node: e.node, version: e.version, state: e.health.state });
  });
  await agent.start();
  if (opts.health) agent.setLocalHealth(opts.health);
  emit({ event: 'ready', address: agent.address, pid: process.pid });

  const seeds = opts.seeds ?? [];
  if (seeds.length > 0) {
    const until = Date.now() + (opts.joinFor ?? 5000);
    for (;;) {
      try {
        const contacted = await agent.join(seeds);
        emit({ event: 'joined', contacted });
        break;
      } catch (err) {
        if (Date.now() > until) {
          emit({ event: 'join-error', message: (err as Error).message });
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let cmd: { cmd: string; health?: RegionSelfHealth };
    try {
      cmd = JSON.parse(line) as typeof cmd;
    } catch {
      emit({ event: 'error', message: 'bad command' });
      return;
    }
    if (cmd.cmd === 'members') emit({ event: 'members', members: agent.members() });
    else if (cmd.cmd === 'stats') emit({ event: 'stats', stats: agent.stats, healthScore: agent.awarenessScore() });
    else if (cmd.cmd === 'health' && cmd.health) agent.setLocalHealth(cmd.health);
    else if (cmd.cmd === 'leave') {
      void agent.leave(3000).then(async () => {
        emit({ event: 'left' });
        await agent.close();
        process.exit(0);
      });
    } else emit({ event: 'error', message: `unknown command ${cmd.cmd}` });
  });
  process.on('SIGTERM', () => {
    void agent.close().then(() => process.exit(0));
  });
}

main().catch((err: Error) => {
  emit({ event: 'fatal', message: err.message, code: (err as { code?: string }).code });
  process.exit(1);
});
