import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { compare, type BenchResult, type ScenarioOptions } from '../lib/result.ts';
import { runLoad, type LoadResult } from '../lib/load.ts';
import { ensureTool, pin, which } from '../lib/tools.ts';
import { start, waitForPort, freePort, type Running } from '../lib/proc.ts';
import { nginxUpstream, nginxProxy } from '../lib/nginx.ts';
import { startEdgeplane, repoRoot } from '../lib/edgeplane.ts';
import { treeCpuMicros } from '../lib/cpu.ts';

/**
 * Plain proxying through one route with a 90/10 split and metrics on, over
 * HTTP/1.1, TLS and HTTP/2, each subject measured in the same run with the same
 * pinning: the proxy under test on core 1, the load generator and the upstream on core 0.
 */
const SERVER_CORE = 1;
const CLIENT_CORE = 0;
const HOST = 'api.svc.plus';

export async function run(options: ScenarioOptions): Promise<BenchResult[]> {
  const durationSec = options.ci ? 3 : 10;
  const warmupSec = options.ci ? 1 : 3;
  const results: BenchResult[] = [];
  const cleanup: Running[] = [];
  try {
    const upstreamPort = await freePort();
    const nginxMissing = ensureTool('nginx', 'nginx');
    const wrkMissing = ensureTool('wrk', 'wrk');
    if (wrkMissing) results.push({ scenario: 'proxy', subject: 'note', metric: '', value: 0, errors: 0, skipped: `${wrkMissing}; using autocannon, which may saturate the client core first` });
    if (nginxMissing) {
      const up = start([...pin(CLIENT_CORE), process.execPath, '--import', 'tsx', join(repoRoot, 'bench/servers/node-upstream.ts'), String(upstreamPort)], { cwd: repoRoot });
      cleanup.push(up);
      await waitForPort(upstreamPort, '127.0.0.1', 15_000, up);
    } else {
      cleanup.push(await nginxUpstream(upstreamPort, CLIENT_CORE));
    }
    // CPU time per request of the server process (and its children: nginx's worker) during the
    // measured window. Unlike req/s it hardly moves when other processes compete for the core.
    const cpuPerRequest = new Map<string, number>();
    const measure = async (url: string, extraHeaders: Record<string, string> = {}, cpu?: { key: string; pid: number }): Promise<LoadResult> => {
      await runLoad({ url, headers: { Host: HOST, ...extraHeaders }, durationSec: warmupSec, core: CLIENT_CORE });
      const before = cpu ? treeCpuMicros(cpu.pid) : 0;
      const r = await runLoad({ url, headers: { Host: HOST, ...extraHeaders }, durationSec, core: CLIENT_CORE });
      if (cpu && r.total > 0) cpuPerRequest.set(cpu.key, (treeCpuMicros(cpu.pid) - before) / r.total);
      return r;
    };
    const row = (scenario: string, subject: string, r: LoadResult, note?: string): BenchResult => ({
      scenario,
      subject,
      metric: 'req/s',
      value: r.rps,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      p999Ms: r.p999Ms,
      errors: r.errors,
      total: r.total,
      note: note ?? r.tool,
    });

    // --- HTTP/1.1 ---
    const direct = row('proxy', 'direct', await measure(`http://127.0.0.1:${upstreamPort}/hello`), 'no proxy: the ceiling of this setup');
    let nginx: BenchResult;
    if (nginxMissing) nginx = { scenario: 'proxy', subject: 'nginx', metric: 'req/s', value: 0, errors: 0, skipped: nginxMissing };
    else {
      const port = await freePort();
      const p = await nginxProxy({ port, upstreamPort, core: SERVER_CORE });
      nginx = row('proxy', 'nginx', await measure(`http://127.0.0.1:${port}/hello`, {}, { key: 'nginx', pid: p.proc.pid! }), '1 worker, proxy_pass, upstream keepalive');
      await p.stop();
    }
    const fastifyPort = await freePort();
    const fastify = start([...pin(SERVER_CORE), process.execPath, '--import', 'tsx', join(repoRoot, 'bench/servers/fastify-proxy.ts'), String(fastifyPort), String(upstreamPort)], { cwd: repoRoot });
    await waitForPort(fastifyPort, '127.0.0.1', 20_000, fastify);
    const stock = row('proxy', '@fastify/http-proxy', await measure(`http://127.0.0.1:${fastifyPort}/hello`, {}, { key: '@fastify/http-proxy', pid: fastify.proc.pid! }), 'stock options');
    await fastify.stop();
    // The floor for any Node proxy: node:http + undici Pool.dispatch, headers copied, nothing else.
    const barePort = await freePort();
    const bare = start([...pin(SERVER_CORE), process.execPath, '--import', 'tsx', join(repoRoot, 'bench/servers/bare-proxy.ts'), String(barePort), String(upstreamPort)], { cwd: repoRoot });
    await waitForPort(barePort, '127.0.0.1', 20_000, bare);
    const bareRow = row('proxy', 'bare node:http + undici', await measure(`http://127.0.0.1:${barePort}/hello`, {}, { key: 'bare node:http + undici', pid: bare.proc.pid! }), 'floor: no routing, no metrics, no header policy');
    await bare.stop();

    // The default engine (native: edgeplane's own HTTP/1.1 codec on raw sockets, src/edge/http1).
    const gw = await startEdgeplane(gatewayConfig(upstreamPort), SERVER_CORE);
    cleanup.push(gw);
    const listeners = gw.ready.listeners as { name: string; port: number }[];
    const httpPort = listeners.find((l) => l.name === 'http')!.port;
    const httpsPort = listeners.find((l) => l.name === 'https')!.port;
    const edge = row('proxy', 'edgeplane', await measure(`http://127.0.0.1:${httpPort}/hello`, {}, { key: 'edgeplane', pid: gw.proc.pid! }), 'engine: native (default), one route, 90/10 split, metrics on');
    // The same gateway on the reference engine (node:http + undici).
    const gwNode = await startEdgeplane({ ...gatewayConfig(upstreamPort), engine: 'node' }, SERVER_CORE);
    cleanup.push(gwNode);
    const nodeListeners = gwNode.ready.listeners as { name: string; port: number }[];
    const nodeHttpPort = nodeListeners.find((l) => l.name === 'http')!.port;
    const nodeHttpsPort = nodeListeners.find((l) => l.name === 'https')!.port;
    const edgeNode = row('proxy', 'edgeplane node engine', await measure(`http://127.0.0.1:${nodeHttpPort}/hello`, {}, { key: 'edgeplane node engine', pid: gwNode.proc.pid! }), 'engine: node (reference), same route/split/metrics');
    const edgeNodeTls = row('proxy-tls', 'edgeplane node engine', await measure(`https://127.0.0.1:${nodeHttpsPort}/hello`), 'engine: node (reference), TLS 1.3, keep-alive');
    await gwNode.stop();
    results.push(direct, nginx, stock, bareRow, compare(edge, nginx, 0.5), compare({ ...edge, subject: 'edgeplane vs stock' }, stock, 3), compare(edgeNode, nginx));
    if (!nginx.skipped && !edge.skipped) {
      results.push({
        scenario: 'proxy',
        subject: 'edgeplane p99 vs nginx p99',
        metric: 'ms',
        value: edge.p99Ms!,
        errors: 0,
        anchor: 'nginx',
        ratio: Math.round((edge.p99Ms! / nginx.p99Ms!) * 100) / 100,
        goal: { description: '<= 2x nginx p99', met: edge.p99Ms! <= 2 * nginx.p99Ms! },
      });
    }

    // CPU per request: the capacity ratio that contention on this machine moves least.
    const cpuRow = (subject: string): BenchResult | undefined => {
      const us = cpuPerRequest.get(subject);
      return us === undefined ? undefined : { scenario: 'proxy-cpu', subject, metric: 'us CPU/req', value: Math.round(us * 10) / 10, errors: 0, note: 'server utime+stime (+children) / requests, measured window only' };
    };
    const edgeCpu = cpuRow('edgeplane');
    for (const subject of ['nginx', '@fastify/http-proxy', 'bare node:http + undici', 'edgeplane node engine']) {
      const r = cpuRow(subject);
      if (r) results.push(r);
    }
    if (edgeCpu) {
      results.push(edgeCpu);
      for (const anchor of ['bare node:http + undici', 'nginx']) {
        const a = cpuRow(anchor);
        if (a) results.push({ ...edgeCpu, subject: `edgeplane CPU/req vs ${anchor}`, anchor, ratio: Math.round((edgeCpu.value / a.value) * 100) / 100, note: anchor === 'nginx' ? 'ratio of CPU per request (lower is cheaper); goal <= 1.7x (nginx efficiency >= 0.6x)' : 'ratio of CPU per request (lower is cheaper)' });
      }
    }

    // --- TLS (HTTP/1.1 keep-alive) ---
    const cert = join(repoRoot, 'certs-dev/server.crt');
    const key = join(repoRoot, 'certs-dev/server.key');
    const edgeTls = row('proxy-tls', 'edgeplane', await measure(`https://127.0.0.1:${httpsPort}/hello`), 'TLS 1.3, keep-alive');
    let nginxTls: BenchResult = { scenario: 'proxy-tls', subject: 'nginx', metric: 'req/s', value: 0, errors: 0, skipped: nginxMissing ?? undefined };
    if (!nginxMissing) {
      const port = await freePort();
      const p = await nginxProxy({ port, upstreamPort, core: SERVER_CORE, tls: { cert, key } });
      nginxTls = row('proxy-tls', 'nginx', await measure(`https://127.0.0.1:${port}/hello`), 'TLS, keep-alive');
      await p.stop();
    }
    results.push(nginxTls, compare(edgeTls, nginxTls, 0.5), compare(edgeNodeTls, nginxTls));

    // --- HTTP/2 downstream (h2load) ---
    const h2Missing = ensureTool('h2load', 'nghttp2-client');
    if (h2Missing) {
      results.push({ scenario: 'proxy-h2', subject: 'edgeplane', metric: 'req/s', value: 0, errors: 0, skipped: h2Missing });
    } else {
      const edgeH2 = await h2load(`https://127.0.0.1:${httpsPort}/hello`, durationSec, warmupSec);
      let nginxH2: BenchResult = { scenario: 'proxy-h2', subject: 'nginx', metric: 'req/s', value: 0, errors: 0, skipped: nginxMissing ?? undefined };
      if (!nginxMissing) {
        const port = await freePort();
        const p = await nginxProxy({ port, upstreamPort, core: SERVER_CORE, tls: { cert, key, http2: true } });
        nginxH2 = { ...(await h2load(`https://127.0.0.1:${port}/hello`, durationSec, warmupSec)), subject: 'nginx' };
        await p.stop();
      }
      results.push(nginxH2, compare(edgeH2, nginxH2));
    }
  } finally {
    for (const p of cleanup.reverse()) await p.stop();
  }
  return results;
}

export function gatewayConfig(upstreamPort: number) {
  const upstream = `127.0.0.1:${upstreamPort}`;
  return {
    node: { id: 'bench-gw', region: 'bench' },
    logging: { level: 'warn', accessLog: false },
    listeners: [
      { name: 'http', address: '127.0.0.1:0', protocol: 'http' },
      {
        name: 'https',
        address: '127.0.0.1:0',
        protocol: 'https',
        tls: { certificates: [{ cert: join(repoRoot, 'certs-dev/server.crt'), key: join(repoRoot, 'certs-dev/server.key') }], http2: true },
      },
    ],
    admin: { address: '127.0.0.1:0' },
    clusters: [
      { name: 'blue', endpoints: [upstream] },
      { name: 'green', endpoints: [upstream] },
    ],
    routes: [{ name: 'api', match: { hosts: [HOST], path: { prefix: '/' } }, split: [{ cluster: 'blue', weight: 90 }, { cluster: 'green', weight: 10 }] }],
  };
}

/** h2load: 10 connections x 10 streams, duration-based; returns req/s and failures. */
async function h2load(url: string, durationSec: number, warmupSec: number): Promise<BenchResult> {
  const args = [...pin(CLIENT_CORE), 'h2load', '-c', '10', '-m', '10', '-t', '1', '-D', String(durationSec), '--warm-up-time', `${warmupSec}`, '-H', `:authority: ${HOST}`, url];
  const text = await new Promise<string>((resolve, reject) => {
    const p = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`h2load failed: ${out}`))));
  });
  const rps = Number(/finished in [^,]+, ([0-9.]+) req\/s/.exec(text)?.[1] ?? 0);
  const m = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(text);
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  const failed = m ? Number(m[5]) + Number(m[6]) : 1;
  const non2xx = status ? Number(status[3]) + Number(status[4]) : 0;
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(text)?.[1];
  return {
    scenario: 'proxy-h2',
    subject: 'edgeplane',
    metric: 'req/s',
    value: Math.round(rps),
    errors: failed + non2xx,
    total: m ? Number(m[4]) : 0,
    note: `h2load 10 conns x 10 streams${mean ? `, mean ${mean}` : ''}`,
  };
}

export const available = () => which('taskset') !== null;
