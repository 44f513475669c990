// The fleet config plane on a real 3-member etcd (loopback): how fast a write reaches every node,
// what an etcd leader kill costs, and what a 10 s etcd outage does to traffic and memory.
import { readFileSync } from 'node:fs';
import type { BenchResult, Scenario } from '../lib/result.ts';
import { startEdgeplane } from '../lib/edgeplane.ts';
import { runLoad } from '../lib/load.ts';
import { startServer } from '../../test/helpers/upstreams.ts';
import { EtcdCluster, etcdMissing } from '../../test/integration/fleet/etcd-cluster.ts';

const TOKEN = 'bench-fleet-token';

function nodeConfig(id: string, upstream: string, store: unknown): unknown {
  return {
    node: { id, region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    clusters: [{ name: 'blue', endpoints: [upstream] }, { name: 'green', endpoints: [upstream] }],
    routes: [{ name: 'api', match: { path: { prefix: '/' } }, split: [{ cluster: 'blue', weight: 90 }, { cluster: 'green', weight: 10 }] }],
    admin: { address: '127.0.0.1:0', token: TOKEN, history: 200 },
    ...(store ? { store } : {}),
  };
}

type Node = Awaited<ReturnType<typeof startEdgeplane>>;
const adminUrl = (n: Node) => `http://127.0.0.1:${(n.ready.admin as { port: number }).port}`;
const httpUrl = (n: Node) => `http://127.0.0.1:${(n.ready.listeners as { name: string; port: number }[]).find((l) => l.name === 'http')!.port}/`;

async function api(n: Node, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(adminUrl(n) + path, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: await res.json().catch(() => null) };
}

const version = async (n: Node) => (await api(n, 'GET', '/v1/status')).body?.version as number;
const writeSplit = (n: Node, blue: number) => api(n, 'PUT', '/v1/routes/api/split', { split: [{ cluster: 'blue', weight: blue }, { cluster: 'green', weight: 100 }] });

/** Polls every node until all serve `v`; resolves with the time that took from `since`. */
async function allServe(nodes: Node[], v: number, since: number, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  await Promise.all(
    nodes.map(async (n) => {
      while ((await version(n).catch(() => 0)) < v) {
        if (Date.now() > deadline) throw new Error(`node did not reach version ${v}`);
        await new Promise((r) => setTimeout(r, 1));
      }
    }),
  );
  return performance.now() - since;
}

function pct(sorted: number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : 0;
}

export const run: Scenario = async ({ ci }) => {
  const missing = etcdMissing();
  if (missing) return [{ scenario: 'fleet', subject: 'etcd store', metric: 'ms', value: 0, errors: 0, skipped: missing }];
  const rows: BenchResult[] = [];
  const upstream = await startServer((_req, res) => res.end('ok'));
  const etcd = await EtcdCluster.start(3);
  const store = { etcd: { endpoints: etcd.endpoints, prefix: '/edgeplane/bench', requestTimeout: '1s', leaseTtl: '2s', keepaliveInterval: '1s', keepaliveTimeout: '1s', probeInterval: '250ms' } };
  const nodes: Node[] = [];
  let fileNode: Node | null = null;
  try {
    for (const id of ['gw-a', 'gw-b', 'gw-c']) nodes.push(await startEdgeplane(nodeConfig(id, upstream.address, store), [0, 1]));
    const [a] = nodes as [Node];
    await allServe(nodes, 1, performance.now());

    // 1. Admin write -> every node serving it.
    const writes = ci ? 10 : 50;
    const times: number[] = [];
    let errors = 0;
    for (let i = 0; i < writes; i++) {
      const t0 = performance.now();
      const res = await writeSplit(a, i + 1);
      if (res.status !== 200) {
        errors++;
        continue;
      }
      times.push(await allServe(nodes, res.body.version, t0));
    }
    times.sort((x, y) => x - y);
    rows.push({
      scenario: 'fleet',
      subject: 'write -> 3 nodes serving',
      metric: 'ms',
      value: pct(times, 50),
      p50Ms: pct(times, 50),
      p99Ms: pct(times, 99),
      errors,
      total: writes,
      goal: { description: 'p99 <= 100 ms on loopback', met: pct(times, 99) <= 100 },
      note: `${writes} writes through one node, each timed until all 3 nodes report it in GET /v1/status (polled every ms)`,
    });

    // 2. etcd leader killed during a stream of writes.
    const leader = (await etcd.leader())!;
    const killedAt = performance.now();
    await etcd.kill(leader);
    let first503: number | null = null;
    let last503: number | null = null;
    let firstOkAfter: number | null = null;
    let n503 = 0;
    for (let i = 0; firstOkAfter === null && performance.now() - killedAt < 30_000; i++) {
      const res = await writeSplit(a, 200 + i);
      const now = performance.now() - killedAt;
      if (res.status === 200) firstOkAfter = now;
      else {
        n503++;
        first503 ??= now;
        last503 = now;
      }
      if (res.status === 200) await allServe(nodes, res.body.version, killedAt).then((ms) => rows.push({ scenario: 'fleet', subject: 'leader kill: all nodes converged', metric: 'ms', value: Math.round(ms), errors: 0 }));
    }
    rows.push({
      scenario: 'fleet',
      subject: 'leader kill: first write acknowledged',
      metric: 'ms',
      value: Math.round(firstOkAfter ?? -1),
      errors: firstOkAfter === null ? 1 : 0,
      total: n503 + 1,
      note: `ms from the kill until a write through a gateway was acknowledged; ${n503} write(s) answered 503/409 before it${first503 !== null ? ` (between ${Math.round(first503)} and ${Math.round(last503 ?? 0)} ms)` : ''} (etcd --election-timeout=500ms)`,
    });
    etcd.restart(leader);
    await etcd.waitHealthy();

    // 3. 10 s etcd outage under load: failed requests, and RSS beside a file-store node under the same load.
    fileNode = await startEdgeplane(nodeConfig('gw-file', upstream.address, null), [0, 1]);
    const seconds = ci ? 4 : 12;
    const outage = (async () => {
      await new Promise((r) => setTimeout(r, 1000));
      await etcd.stopAll();
      await new Promise((r) => setTimeout(r, (seconds - 2) * 1000));
      for (const m of etcd.members) etcd.restart(m);
    })();
    const [loadEtcd, loadFile] = await Promise.all([runLoad({ url: httpUrl(a), durationSec: seconds, connections: 16, core: 0 }), runLoad({ url: httpUrl(fileNode), durationSec: seconds, connections: 16, core: 0 })]);
    await outage;
    const rssEtcd = rssMiB(a.proc.pid!);
    const rssFile = rssMiB(fileNode.proc.pid!);
    rows.push({ scenario: 'fleet', subject: 'etcd outage: proxied requests', metric: 'req/s', value: Math.round(loadEtcd.rps), errors: loadEtcd.errors, total: loadEtcd.total, goal: { description: '0 failed requests', met: loadEtcd.errors === 0 }, note: `${seconds - 2} s of etcd down inside ${seconds} s of load (${loadEtcd.tool})` });
    rows.push({ scenario: 'fleet', subject: 'etcd outage: RSS vs file-store node', metric: 'MiB', value: rssEtcd, errors: 0, anchor: 'file-store node', ratio: Math.round((rssEtcd / rssFile) * 100) / 100, goal: { description: 'within 10% of the file-store node', met: rssEtcd <= rssFile * 1.1 }, note: `etcd-store node ${rssEtcd} MiB, file-store node ${rssFile} MiB under the same load (file node: ${Math.round(loadFile.rps)} req/s)` });
    await etcd.waitHealthy();
    const caught = performance.now();
    const after = await writeSplit(a, 7);
    if (after.status === 200) rows.push({ scenario: 'fleet', subject: 'after outage: write -> 3 nodes', metric: 'ms', value: Math.round(await allServe(nodes, after.body.version, caught)), errors: 0 });
  } finally {
    await Promise.all([...nodes, ...(fileNode ? [fileNode] : [])].map((n) => n.stop()));
    await etcd.stop();
    await upstream.close();
  }
  return rows;
};
