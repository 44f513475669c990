/**
 * A real network partition: two network namespaces joined by a veth pair,
 * two gossip agents in each (non-loopback addresses, so encrypted). Taking the
 * link down partitions them; each side declares the other dead; bringing it
 * back up heals the fleet (serf-style reconnect) with everyone alive again.
 * Needs root and iproute2; skipped with the reason otherwise.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { AgentProcess, stateOf } from './lib/agent-process.ts';
import { waitFor } from '../../helpers/wait.ts';
import { generateKey } from '../../../src/gossip/keyring.ts';

const tag = `epg${process.pid % 100000}`;
const nsA = `${tag}a`;
const nsB = `${tag}b`;
const agents: AgentProcess[] = [];

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function canUseNetns(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  try {
    ip('-V');
  } catch {
    return 'iproute2 (ip) is not installed';
  }
  try {
    ip('netns', 'add', `${tag}probe`);
    ip('netns', 'del', `${tag}probe`);
  } catch (err) {
    return `cannot create network namespaces here: ${(err as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  for (const ns of [nsA, nsB]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // not created
    }
  }
});

test('partition between two network namespaces: both sides see the other dead, then heal', async (t) => {
  const why = canUseNetns();
  if (why) {
    t.skip(why);
    return;
  }
  ip('netns', 'add', nsA);
  ip('netns', 'add', nsB);
  ip('link', 'add', `${tag}va`, 'type', 'veth', 'peer', 'name', `${tag}vb`);
  ip('link', 'set', `${tag}va`, 'netns', nsA);
  ip('link', 'set', `${tag}vb`, 'netns', nsB);
  ip('-n', nsA, 'addr', 'add', '10.213.0.1/24', 'dev', `${tag}va`);
  ip('-n', nsB, 'addr', 'add', '10.213.0.2/24', 'dev', `${tag}vb`);
  for (const [ns, dev] of [[nsA, `${tag}va`], [nsB, `${tag}vb`]] as const) {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', dev, 'up');
  }

  const key = generateKey();
  const start = (name: string, ns: string, host: string, seeds: string[]) => {
    const a = new AgentProcess({ nodeId: name, region: ns === nsA ? 'jp' : 'sg', bind: `${host}:0`, seeds, keys: [key], profile: 'local', joinFor: 15_000 }, ['ip', 'netns', 'exec', ns]);
    agents.push(a);
    return a.ready();
  };
  const a1 = await start('a1', nsA, '10.213.0.1', []);
  const [a2, b1, b2] = await Promise.all([start('a2', nsA, '10.213.0.1', [a1.address]), start('b1', nsB, '10.213.0.2', [a1.address]), start('b2', nsB, '10.213.0.2', [a1.address])]);
  const sideA = [a1, a2!];
  const sideB = [b1!, b2!];
  const everyone = [...sideA, ...sideB];
  const allSee = async (pred: (state: string | undefined, self: AgentProcess, other: AgentProcess) => boolean) => {
    for (const x of everyone) {
      const view = await x.members();
      for (const y of everyone) if (x !== y && !pred(stateOf(view, y.nodeId), x, y)) return false;
    }
    return true;
  };
  await waitFor(() => allSee((s) => s === 'alive'), { timeoutMs: 30_000, what: 'all four alive everywhere' });

  ip('-n', nsA, 'link', 'set', `${tag}va`, 'down');
  await waitFor(
    () => allSee((s, x, y) => (sideA.includes(x) === sideA.includes(y) ? s === 'alive' : s === 'dead')),
    { timeoutMs: 60_000, what: 'each side sees the other dead and its own side alive' },
  );

  ip('-n', nsA, 'link', 'set', `${tag}va`, 'up');
  await waitFor(() => allSee((s) => s === 'alive'), { timeoutMs: 60_000, what: 'all four alive again after the heal' });
  for (const x of everyone) assert.ok(!x.exited);
});
