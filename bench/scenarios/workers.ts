import os from 'node:os';
import type { BenchResult, ScenarioOptions } from '../lib/result.ts';
import { runLoad, type LoadResult } from '../lib/load.ts';
import { ensureTool } from '../lib/tools.ts';
import { start, waitForPort, freePort, type Running } from '../lib/proc.ts';
import { nginxUpstream } from '../lib/nginx.ts';
import { startEdgeplane, repoRoot } from '../lib/edgeplane.ts';
import { treeCpuMicros, median } from '../lib/cpu.ts';
import { metricValue, scrape } from '../lib/metrics-text.ts';
import { gatewayConfig } from './proxy.ts';
import { join } from 'node:path';
import { pin } from '../lib/tools.ts';

/**
 * Multi-core scaling: the proxy scenario's gateway with `workers: 1` (the
 * single-process path) and `workers: N` (node:cluster data-plane workers),
 * interleaved rounds, req/s and CPU per request of the whole process tree.
 *
 * Core layout: with C cores, the gateway gets the last N cores (taskset) and
 * wrk plus the upstream the rest. On a 2-core machine that is impossible for
 * N = 2: the gateway then spans both cores and shares core 0 with wrk and the
 * upstream, which bounds what scaling can show (the row says so). On a larger
 * machine: `npm run bench -- --only workers` measures 1, 2, 4 (up to half the
 * cores); docs/multicore.md has the method.
 */
const HOST = 'api.svc.plus';
const SCENARIO = 'workers';

export async function run(options: ScenarioOptions): Promise<BenchResult[]> {
  const cores = os.cpus().length;
  const counts = [1, 2, 4, 8].filter((n) => n === 1 || n === 2 || n <= Math.floor(cores / 2));
  const rounds = options.ci ? 1 : 3;
  const durationSec = options.ci ? 3 : 8;
  const results: BenchResult[] = [];
  const cleanup: Running[] = [];
  const small = cores < 4;
  // Load side: everything but the gateway's cores (on a small machine, core 0).
  const maxN = Math.max(...counts);
  const clientCores = small ? [0] : Array.from({ length: cores - maxN }, (_, i) => i);
  const serverCores = (n: number) => (small ? (n === 1 ? [cores - 1] : Array.from({ length: cores }, (_, i) => i)) : Array.from({ length: n }, (_, i) => cores - n + i));
  try {
    const upstreamPort = await freePort();
    if (ensureTool('nginx', 'nginx')) {
      const up = start([...pin(clientCores), process.execPath, '--import', 'tsx', join(repoRoot, 'bench/servers/node-upstream.ts'), String(upstreamPort)], { cwd: repoRoot });
      cleanup.push(up);
      await waitForPort(upstreamPort, '127.0.0.1', 15_000, up);
    } else {
      cleanup.push(await nginxUpstream(upstreamPort, clientCores[0]!));
    }
    const gateways = [];
    for (const n of counts) {
      const gw = await startEdgeplane({ ...gatewayConfig(upstreamPort), workers: n, drain: { delay: '0s', timeout: '2s' } }, serverCores(n));
      cleanup.push(gw);
      const port = (gw.ready.listeners as { name: string; port: number }[]).find((l) => l.name === 'http')!.port;
      const admin = (gw.ready.admin as { port: number }).port;
      gateways.push({ n, gw, port, admin });
    }
    const threads = Math.max(1, clientCores.length);
    const connections = 50 * Math.max(1, maxN / 2);
    const runs = new Map<number, { load: LoadResult; cpuUs: number }[]>(counts.map((n) => [n, []]));
    for (const g of gateways) await runLoad({ url: `http://127.0.0.1:${g.port}/hello`, headers: { Host: HOST }, durationSec: 1, core: clientCores, threads, connections });
    for (let r = 0; r < rounds; r++) {
      for (const g of gateways) {
        const before = treeCpuMicros(g.gw.proc.pid!);
        const load = await runLoad({ url: `http://127.0.0.1:${g.port}/hello`, headers: { Host: HOST }, durationSec, core: clientCores, threads, connections });
        const cpuUs = (treeCpuMicros(g.gw.proc.pid!) - before) / Math.max(1, load.total);
        runs.get(g.n)!.push({ load, cpuUs });
      }
    }
    const base = median(runs.get(1)!.map((x) => x.load.rps));
    for (const g of gateways) {
      const rs = runs.get(g.n)!;
      const rps = median(rs.map((x) => x.load.rps));
      // How the requests spread over the workers (edgeplane_worker_requests_total), for N > 1.
      let spread = '';
      if (g.n > 1) {
        const text = await scrape(`http://127.0.0.1:${g.admin}/metrics`).catch(() => '');
        spread = Array.from({ length: g.n }, (_, i) => metricValue(text, 'edgeplane_worker_requests_total', `worker="${i + 1}"`) ?? 0).join('/');
      }
      const row: BenchResult = {
        scenario: SCENARIO,
        subject: `edgeplane workers: ${g.n}`,
        metric: 'req/s',
        value: Math.round(rps),
        p50Ms: median(rs.map((x) => x.load.p50Ms)),
        p99Ms: median(rs.map((x) => x.load.p99Ms)),
        p999Ms: median(rs.map((x) => x.load.p999Ms)),
        errors: rs.reduce((n, x) => n + x.load.errors, 0),
        total: rs.reduce((n, x) => n + x.load.total, 0),
        note: `gateway on cores ${serverCores(g.n).join(',')}, wrk -t${threads} -c${connections} and upstream on ${clientCores.join(',')}; ${median(rs.map((x) => x.cpuUs)).toFixed(1)} us CPU/req (process tree)${spread ? `; requests per worker ${spread}` : ''}${small && g.n > 1 ? `; ${cores}-core machine: the workers share core 0 with wrk and the upstream` : ''}`,
      };
      if (g.n > 1 && base > 0) {
        row.anchor = 'edgeplane workers: 1';
        row.ratio = Math.round((rps / base) * 100) / 100;
      }
      results.push(row);
    }
  } finally {
    for (const p of cleanup.reverse()) await p.stop();
  }
  return results;
}
