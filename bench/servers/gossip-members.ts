/**
 * Hosts `count` gossip agents in one process (each with its own UDP+TCP
 * socket on 127.0.0.1, OS-chosen ports) that join `seed`, so a benchmark can
 * surround one measured gateway with many real members without starting a
 * process per member. With healthEveryMs, each member republishes its health
 * at that period (jittered), a fleet with health churn.
 *
 * usage: tsx bench/servers/gossip-members.ts '{"count":49,"seed":"127.0.0.1:7946","keys":[...],"profile":"lan","healthEveryMs":0}'
 * prints {"ready":true,"addresses":[...]} once every member joined.
 */
import { GossipAgent } from '../../src/gossip/agent.ts';
import type { ProfileName } from '../../src/gossip/config.ts';

const opts = JSON.parse(process.argv[2] ?? '{}') as { count: number; seed: string; keys: string[]; profile?: ProfileName; healthEveryMs?: number };
const agents: GossipAgent[] = [];
for (let i = 0; i < opts.count; i++) {
  const a = new GossipAgent({ config: { bind: '127.0.0.1:0', keys: opts.keys, profile: opts.profile ?? 'lan' }, nodeId: `member-${i}`, region: i % 2 ? 'jp' : 'sg' });
  await a.start();
  agents.push(a);
}
await Promise.all(agents.map((a) => a.join([opts.seed])));
let version = 0;
for (const a of agents) a.setLocalHealth({ state: 'up', healthy: 1, names: { 'api.svc.plus': 1 }, at: Date.now() });
if (opts.healthEveryMs && opts.healthEveryMs > 0) {
  for (const a of agents) {
    const tick = () => {
      version++;
      a.setLocalHealth({ state: 'up', healthy: (version % 10) / 10, names: { 'api.svc.plus': (version % 10) / 10 }, at: Date.now() });
      setTimeout(tick, opts.healthEveryMs! * (0.5 + Math.random())).unref();
    };
    setTimeout(tick, opts.healthEveryMs * Math.random()).unref();
  }
}
process.stdout.write(JSON.stringify({ ready: true, addresses: agents.map((a) => a.address) }) + '\n');
setInterval(() => {}, 1 << 30);
process.on('SIGTERM', () => {
  void Promise.all(agents.map((a) => a.close())).then(() => process.exit(0));
});
