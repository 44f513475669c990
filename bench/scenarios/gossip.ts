import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { BenchResult, ScenarioOptions } from '../lib/result.ts';
import { startEdgeplane, repoRoot } from '../lib/edgeplane.ts';
import { cpuMicros } from '../lib/cpu.ts';
import { pin } from '../lib/tools.ts';
import type { Running } from '../lib/proc.ts';
import { dissemination, firstSuspicion, lossyRun, serfIntervalsTo, stallRun } from '../../test/sim/lib/experiments.ts';
import { LAN } from '../../src/gossip/config.ts';
import { generateKey } from '../../src/gossip/keyring.ts';

/**
 * Gossip: convergence and bandwidth in the deterministic simulation (the
 * production GossipAgent over an in-memory network on a virtual clock, LAN
 * profile) against serf's convergence model, the SWIM first-detection figure
 * at n=1000 with enough crashes for a tight estimate, dissemination at
 * n=2000, Lifeguard's effect, and the CPU that gossip with 50 real members
 * costs one gateway process on loopback.
 */
export async function run(options: ScenarioOptions): Promise<BenchResult[]> {
  const ci = options.ci;
  const rows: BenchResult[] = [];
  rows.push(...convergence(ci));
  rows.push(...largeDissemination(ci));
  rows.push(...detection(ci));
  if (!ci) rows.push(...falseDeaths());
  rows.push(...(await gatewayCpu(ci)));
  return rows;
}

function r2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** Time until an update reaches every member, and bytes/s per member, vs serf's model. */
function convergence(ci: boolean): BenchResult[] {
  const rows: BenchResult[] = [];
  for (const n of [10, 100, 1000]) {
    const updates = ci ? 2 : n >= 1000 ? 12 : 30;
    const r = dissemination({ n, updates, seed: 100 + n, spacing: 10_000 });
    // serf's simulator: push gossip, fanout GossipNodes every GossipInterval; "converged" once fewer than half a member is left.
    const modelMs = serfIntervalsTo(n, LAN.GossipNodes, 0, 1 - 0.5 / n) * LAN.GossipInterval;
    const model: BenchResult = { scenario: 'gossip', subject: `serf model n=${n}`, metric: 'ms to all', value: modelMs, errors: 0, note: `fanout ${LAN.GossipNodes} every ${LAN.GossipInterval}ms, no loss` };
    rows.push(model);
    rows.push({
      scenario: 'gossip',
      subject: `sim n=${n} convergence`,
      metric: 'ms to all',
      value: r2(r.max),
      p50Ms: r2(r.p50),
      p99Ms: r2(r.p99),
      errors: r.updates - r.complete,
      total: r.latencies.length,
      anchor: model.subject,
      ratio: r2(r.max / modelMs),
      note: `${r.complete}/${r.updates} updates reached all; value = slowest member; LAN profile with push-pull`,
    });
    rows.push({ scenario: 'gossip', subject: `sim n=${n} bandwidth`, metric: 'B/s per member', value: Math.round(r.bytesPerMemberPerSec), errors: 0, note: 'datagrams + push-pull streams, one health update every 10s in the fleet' });
  }
  return rows;
}

function largeDissemination(ci: boolean): BenchResult[] {
  const n = ci ? 500 : 2000;
  const r = dissemination({ n, updates: ci ? 2 : 8, seed: 2000, spacing: 3000, protocol: { PushPullInterval: 0 } });
  const bound = Math.ceil(Math.log2(n)) + 2;
  const p99 = r.p99 / r.gossipInterval;
  return [
    {
      scenario: 'gossip',
      subject: `sim n=${n} dissemination p99`,
      metric: 'gossip intervals',
      value: r2(p99),
      p99Ms: r2(r.p99),
      errors: r.updates - r.complete,
      total: r.latencies.length,
      goal: { description: `<= ceil(log2 n)+2 = ${bound}, 100% reached`, met: p99 <= bound && r.complete === r.updates },
      note: `max ${r2(r.max / r.gossipInterval)} intervals; push-pull off (gossip only)`,
    },
  ];
}

function detection(ci: boolean): BenchResult[] {
  const trials = ci ? 2 : 40;
  const r = firstSuspicion({ n: 1000, trials, victims: 10, seed: 31 });
  return [
    {
      scenario: 'gossip',
      subject: 'sim n=1000 first suspicion',
      metric: 'periods',
      value: Math.round(r.mean * 1000) / 1000,
      errors: r.falseDeaths,
      total: r.samples,
      // 20 crashes (CI) are too few for the +-0.1 goal; the full run's 400 are not.
      ...(ci ? {} : { goal: { description: `within 0.1 of SWIM's ${r.expected.toFixed(3)}`, met: Math.abs(r.mean - r.expected) <= 0.1 } }),
      note: `${r.samples} crashes, standard error ${r.stderr.toFixed(3)}, SWIM ${r.expected.toFixed(3)}; histogram ${JSON.stringify(r.histogram)}`,
    },
  ];
}

function falseDeaths(): BenchResult[] {
  const rows: BenchResult[] = [];
  const loss = lossyRun({ n: 50, loss: 0.05, duration: 3_600_000, seed: 77 });
  rows.push({ scenario: 'gossip', subject: 'sim n=50 5% loss 1h', metric: 'false deaths', value: loss.falseDeaths, errors: loss.falseDeaths, note: `${loss.suspicions} suspicions, ${loss.refutes} refutations` });
  for (const [mode, extra] of [
    ['blocked 30s', {}],
    ['3x ProbeTimeout late, 30s', { delay: 3 * LAN.ProbeTimeout }],
  ] as const) {
    let without = 0;
    let withLg = 0;
    let stalledWithout = 0;
    let stalledWith = 0;
    for (const seed of [1, 2, 3, 4]) {
      const a = stallRun({ n: 16, seed, lifeguard: false, trials: 5, stallMs: 30_000, recoverMs: 60_000, ...extra });
      const b = stallRun({ n: 16, seed, lifeguard: true, trials: 5, stallMs: 30_000, recoverMs: 60_000, ...extra });
      without += a.falseDeaths;
      withLg += b.falseDeaths;
      stalledWithout += a.stalledDeaths ?? 0;
      stalledWith += b.stalledDeaths ?? 0;
    }
    const anchor: BenchResult = { scenario: 'gossip', subject: `stall ${mode}, no Lifeguard`, metric: 'false deaths', value: without, errors: 0, note: `20 stalls of one member in 16; the stalled member itself was marked dead ${stalledWithout} times (views)` };
    rows.push(anchor);
    rows.push({
      scenario: 'gossip',
      subject: `stall ${mode}, Lifeguard`,
      metric: 'false deaths',
      value: withLg,
      errors: 0,
      anchor: anchor.subject,
      ...(without > 0 ? { ratio: r2(withLg / without) } : {}),
      // With a handful of false deaths either way, "10x fewer" says nothing: no goal then.
      ...(without >= 20 ? { goal: { description: '>= 10x fewer than without', met: withLg * 10 <= without } } : {}),
      note: `stalled member marked dead ${stalledWith} times (views)${without < 20 ? '; too few false deaths without Lifeguard to compare' : ''}`,
    });
  }
  return rows;
}

interface Members {
  stop(): Promise<void>;
}

async function startMembers(count: number, seed: string, keys: string[], healthEveryMs: number, core: number): Promise<Members> {
  const argv = [...pin(core), process.execPath, '--import', 'tsx', join(repoRoot, 'bench/servers/gossip-members.ts'), JSON.stringify({ count, seed, keys, profile: 'lan', healthEveryMs })];
  const proc = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, EDGEPLANE_LOG_LEVEL: 'warn' } });
  let err = '';
  proc.stderr!.on('data', (d) => (err = (err + d).slice(-5000)));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`gossip members not ready: ${err}`)), 60_000);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (line.includes('"ready":true')) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.once('exit', (code) => reject(new Error(`gossip members exited with ${code}: ${err}`)));
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}

/** CPU of one gateway process: without gossip (anchor), with 49 other members, and with health churn. */
async function gatewayCpu(ci: boolean): Promise<BenchResult[]> {
  const windowMs = ci ? 5000 : 60_000;
  const key = generateKey();
  const base = { node: { id: 'bench-gw', region: 'jp' }, listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }], clusters: [], routes: [], admin: { address: '127.0.0.1:0', stateDir: './state' } };
  const rows: BenchResult[] = [];
  const measure = async (gw: Running & { ready: Record<string, unknown> }) => {
    const pid = gw.proc.pid!;
    const before = cpuMicros(pid);
    const t0 = Date.now();
    await delay(windowMs);
    return (cpuMicros(pid) - before) / 1000 / ((Date.now() - t0) / 1000);
  };

  const plain = await startEdgeplane(base, 1);
  let anchorValue: number;
  try {
    await delay(2000);
    anchorValue = await measure(plain);
  } finally {
    await plain.stop();
  }
  const anchor: BenchResult = { scenario: 'gossip', subject: 'gateway, no gossip', metric: 'ms CPU/s', value: r2(anchorValue), errors: 0, note: 'idle gateway (admin only), utime+stime' };
  rows.push(anchor);

  for (const [label, healthEveryMs] of [
    ['steady', 0],
    ['health churn', 10_000],
  ] as const) {
    // The 49 members share 127.0.0.1 and join at once: past the default per-client cap of 8 streams.
    const gw = await startEdgeplane({ ...base, gossip: { bind: '127.0.0.1:0', keys: [key], profile: 'lan', maxConnectionsPerClient: 64 } }, 1);
    let members: Members | undefined;
    try {
      members = await startMembers(49, gw.ready.gossip as string, [key], healthEveryMs, 0);
      const admin = gw.ready.admin as { port: number };
      const deadline = Date.now() + 60_000;
      for (;;) {
        const f = (await (await fetch(`http://127.0.0.1:${admin.port}/v1/fleet`)).json()) as { members: { state: string }[] };
        if (f.members.filter((m) => m.state === 'alive').length === 50) break;
        if (Date.now() > deadline) throw new Error('50 members never converged');
        await delay(500);
      }
      await delay(ci ? 1000 : 5000);
      const v = await measure(gw);
      rows.push({
        scenario: 'gossip',
        subject: `gateway + gossip, 50 members, ${label}`,
        metric: 'ms CPU/s',
        value: r2(v),
        errors: 0,
        anchor: anchor.subject,
        // An idle gateway may round to 0 ms/s: a ratio would be meaningless then.
        ...(anchorValue >= 0.5 ? { ratio: r2(v / anchorValue) } : {}),
        note: `LAN profile, AES-GCM; gossip costs ${r2(v - anchorValue)} ms CPU per second (${r2((v - anchorValue) / 10)}% of a core)${healthEveryMs ? `; every member republishes health every ~${healthEveryMs / 1000}s` : ''}`,
      });
    } finally {
      await members?.stop();
      await gw.stop();
    }
  }
  return rows;
}
