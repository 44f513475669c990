import { join } from 'node:path';
import type { BenchResult, ScenarioOptions } from '../lib/result.ts';
import { runLoad } from '../lib/load.ts';
import { openLoop } from '../lib/open-loop.ts';
import { which } from '../lib/tools.ts';
import { start, waitForPort, freePort, type Running } from '../lib/proc.ts';
import { startEdgeplane, repoRoot } from '../lib/edgeplane.ts';
import { cpuMicros, treeCpuMicros, median } from '../lib/cpu.ts';
import { nginxRateLimited } from '../lib/nginx.ts';
import { scrape, metricValue } from '../lib/metrics-text.ts';

/**
 * What a refused request costs: the gateway's CPU per request on a route whose
 * limit refuses everything (one bucket, spent) against the same gateway
 * proxying a route without a limit, in interleaved closed-loop rounds; then a
 * route under 10x its limit (open loop at ten times the rate), whose CPU is
 * split between the passed and the refused requests with the proxied cost at
 * the same offered rate. Goal (issue 18): CPU per refused request <= 0.3x a proxied one.
 * The anchor: nginx (1 worker) refusing with `limit_req` vs nginx proxying the
 * same route, in the same rounds: whether 0.3x is within reach of nginx itself.
 * Gateway (and nginx, and the floor) on core 1, load and upstream on core 0.
 */
const SERVER_CORE = 1;
const CLIENT_CORE = 0;
const LIMIT = 200; // requests per second on the `limited` route

/**
 * The floor under any refusal in Node: a bare `net` server that answers every
 * read with the same fixed 429 (no parsing, no routing), on the gateway's core
 * under the same load. What it costs per request is the read, the write (on
 * loopback the write also runs the client's TCP receive path) and the event
 * loop's wake-up — the part of a refusal no gateway code can remove.
 */
const FLOOR_SERVER = `
const body = '{"error":"rate_limited"}';
const answer = 'HTTP/1.1 429 Too Many Requests\\r\\ncontent-type: application/json\\r\\ncontent-length: ' + body.length + '\\r\\n\\r\\n' + body;
require('node:net').createServer((s) => { s.setNoDelay(true); s.on('error', () => s.destroy()); s.on('data', () => s.write(answer)); }).listen(Number(process.argv[1]), '127.0.0.1');
`;

export async function run(options: ScenarioOptions): Promise<BenchResult[]> {
  const rounds = options.ci ? 1 : 5;
  const durationSec = options.ci ? 2 : 4;
  const results: BenchResult[] = [];
  const cleanup: Running[] = [];
  try {
    const upstreamPort = await freePort();
    const up = start([...(which('taskset') ? ['taskset', '-c', String(CLIENT_CORE)] : []), process.execPath, '--import', 'tsx', join(repoRoot, 'bench/servers/node-upstream.ts'), String(upstreamPort)], { cwd: repoRoot });
    cleanup.push(up);
    await waitForPort(upstreamPort, '127.0.0.1', 15_000, up);
    const floorPort = await freePort();
    const floor = start([...(which('taskset') ? ['taskset', '-c', String(SERVER_CORE)] : []), process.execPath, '-e', FLOOR_SERVER, String(floorPort)], { cwd: repoRoot });
    cleanup.push(floor);
    await waitForPort(floorPort, '127.0.0.1', 15_000, floor);
    let nginx: Running | null = null;
    let nginxPort = 0;
    if (which('nginx')) {
      nginxPort = await freePort();
      nginx = await nginxRateLimited({ port: nginxPort, upstreamPort, core: SERVER_CORE, plainHost: 'plain.bench', refuseHost: 'refuse.bench' });
      cleanup.push(nginx);
    }
    const gw = await startEdgeplane(config(upstreamPort), SERVER_CORE);
    cleanup.push(gw);
    const ready = gw.ready as { listeners: { name: string; port: number }[]; admin: { port: number } };
    const url = `http://127.0.0.1:${ready.listeners.find((l) => l.name === 'http')!.port}/hello`;
    const metricsUrl = `http://127.0.0.1:${ready.admin.port}/metrics`;
    const pid = gw.proc.pid!;
    const passedRefuseAll = async () => metricValue(await scrape(metricsUrl), 'edgeplane_requests_total', 'route="refuse-all",cluster="api",code="200"') ?? 0;

    for (const host of ['plain.bench', 'refuse.bench']) await runLoad({ url, headers: { Host: host }, durationSec: 1, core: CLIENT_CORE });
    await runLoad({ url: `http://127.0.0.1:${floorPort}/`, durationSec: 1, core: CLIENT_CORE });
    const nginxUrl = `http://127.0.0.1:${nginxPort}/hello`;
    if (nginx !== null) for (const host of ['plain.bench', 'refuse.bench']) await runLoad({ url: nginxUrl, headers: { Host: host }, durationSec: 1, core: CLIENT_CORE });
    const nginxCpu = { proxied: [] as number[], refused: [] as number[] };
    let nginxErrors = 0;
    const floorCpu: number[] = [];
    const cpu = { proxied: [] as number[], refused: [] as number[] };
    const rps = { proxied: [] as number[], refused: [] as number[] };
    let total = { proxied: 0, refused: 0 };
    let unexpected = 0;
    let proxiedErrors = 0;
    for (let r = 0; r < rounds; r++) {
      for (const kind of ['proxied', 'refused'] as const) {
        const before = cpuMicros(pid);
        const passedBefore = kind === 'refused' ? await passedRefuseAll() : 0;
        const res = await runLoad({ url, headers: { Host: kind === 'proxied' ? 'plain.bench' : 'refuse.bench' }, durationSec, core: CLIENT_CORE });
        const used = cpuMicros(pid) - before;
        cpu[kind].push(res.total > 0 ? used / res.total : 0);
        rps[kind].push(res.rps);
        total = { ...total, [kind]: total[kind] + res.total };
        // The load tool counts the 429s as status errors: here an error is a request that got through.
        if (kind === 'refused') unexpected += (await passedRefuseAll()) - passedBefore;
        else proxiedErrors += res.errors;
      }
      if (nginx !== null) {
        for (const kind of ['proxied', 'refused'] as const) {
          const before = treeCpuMicros(nginx.proc.pid!);
          const res = await runLoad({ url: nginxUrl, headers: { Host: kind === 'proxied' ? 'plain.bench' : 'refuse.bench' }, durationSec, core: CLIENT_CORE });
          nginxCpu[kind].push(res.total > 0 ? (treeCpuMicros(nginx.proc.pid!) - before) / res.total : 0);
          // The load tool counts 429s as status errors: on the proxied host any error is one.
          if (kind === 'proxied') nginxErrors += res.errors;
        }
      }
      const before = cpuMicros(floor.proc.pid!);
      const f = await runLoad({ url: `http://127.0.0.1:${floorPort}/`, durationSec, core: CLIENT_CORE });
      floorCpu.push(f.total > 0 ? (cpuMicros(floor.proc.pid!) - before) / f.total : 0);
    }
    const proxied = median(cpu.proxied);
    const refused = median(cpu.refused);
    const ratios = cpu.refused.map((c, i) => c / Math.max(1e-9, cpu.proxied[i]!));
    const ratio = Math.round(median(ratios) * 100) / 100;
    results.push({ scenario: 'rate-limit', subject: 'proxied CPU/req', metric: 'us CPU/req', value: round1(proxied), errors: proxiedErrors, total: total.proxied, note: `route without a limit; median ${Math.round(median(rps.proxied))} req/s over ${rounds} interleaved ${durationSec}s rounds` });
    results.push({
      scenario: 'rate-limit',
      subject: 'refused (429) CPU/req',
      metric: 'us CPU/req',
      value: round1(refused),
      errors: unexpected,
      total: total.refused,
      anchor: 'proxied CPU/req',
      ratio,
      goal: { description: '<= 0.3x a proxied request\'s CPU', met: ratio <= 0.3 },
      note: `every request answered 429 by the gateway; median ${Math.round(median(rps.refused))} req/s; per-round ratios ${ratios.map((x) => x.toFixed(2)).join(' ')}`,
    });

    const floorRatios = floorCpu.map((c, i) => c / Math.max(1e-9, cpu.proxied[i]!));
    results.push({
      scenario: 'rate-limit',
      subject: 'floor: bare node net server answering a fixed 429',
      metric: 'us CPU/req',
      value: round1(median(floorCpu)),
      errors: 0,
      note: `no parsing or routing: the read, the write and the wake-up a refusal cannot avoid; ${(Math.round(median(floorRatios) * 100) / 100).toFixed(2)}x the proxied CPU/req (per round ${floorRatios.map((x) => x.toFixed(2)).join(' ')})`,
    });

    if (nginx !== null) {
      const nginxRatios = nginxCpu.refused.map((c, i) => c / Math.max(1e-9, nginxCpu.proxied[i]!));
      results.push({ scenario: 'rate-limit', subject: 'nginx proxied CPU/req', metric: 'us CPU/req', value: round1(median(nginxCpu.proxied)), errors: nginxErrors, note: `nginx 1 worker on the gateway's core, proxy_pass with upstream keepalive, same upstream; rounds ${nginxCpu.proxied.map((x) => x.toFixed(1)).join(' ')} us` });
      results.push({
        scenario: 'rate-limit',
        subject: 'nginx refused (limit_req 429) CPU/req',
        metric: 'us CPU/req',
        value: round1(median(nginxCpu.refused)),
        errors: 0,
        anchor: 'nginx proxied CPU/req',
        ratio: Math.round(median(nginxRatios) * 100) / 100,
        note: `the anchor for the 0.3x goal: nginx's own refused/proxied CPU ratio in the same rounds (limit_req, rate 1r/m, no burst, refusals logged below the error_log level); per-round ratios ${nginxRatios.map((x) => x.toFixed(2)).join(' ')}; the gateway's refused CPU/req is ${(median(cpu.refused) / Math.max(1e-9, median(nginxCpu.refused))).toFixed(2)}x nginx's`,
      });
    }

    // 10x the limit, open loop: the passed share stays at the limit and the rest is refused. At 2,000 req/s the
    // gateway idles between requests and each one pays a whole event-loop wake-up, so a request costs more
    // than in the closed loop above: the proxied anchor is measured the same way (the same rate and
    // seconds on the route without a limit), in interleaved rounds.
    const seconds = options.ci ? 3 : 6;
    const olRounds = options.ci ? 1 : 3;
    const openProxied: number[] = [];
    const openRefused: number[] = [];
    let passed = 0;
    let refusedN = 0;
    let olErrors = 0;
    let anchorErrors = 0;
    let anchorUnanswered = 0;
    let olCompleted = 0;
    let clientRate = 0;
    for (let r = 0; r < olRounds; r++) {
      // No warm-up (the gateway is warm from the rounds above), so the CPU measured is that of the counted requests.
      let before = cpuMicros(pid);
      const plain = await openLoop({ url, host: 'plain.bench', rate: LIMIT * 10, seconds, warmupSec: 0, core: CLIENT_CORE });
      const perProxied = (cpuMicros(pid) - before) / Math.max(1, plain.completed);
      openProxied.push(perProxied);
      // Not the refusal's errors: the anchor's own (an overloaded gateway leaves requests unanswered here first).
      anchorErrors += plain.sent - (plain.statuses['200'] ?? 0);
      anchorUnanswered += plain.sent - plain.completed;
      before = cpuMicros(pid);
      const ol = await openLoop({ url, host: 'limited.bench', rate: LIMIT * 10, seconds, warmupSec: 0, core: CLIENT_CORE });
      const used = cpuMicros(pid) - before;
      const p = ol.statuses['200'] ?? 0;
      const n = ol.statuses['429'] ?? 0;
      openRefused.push(n > 0 ? Math.max(0, (used - p * perProxied) / n) : 0);
      passed += p;
      refusedN += n;
      // The client counts 429s as errors: only other statuses and requests without an answer are.
      olErrors += ol.sent - p - n;
      olCompleted += ol.completed;
      clientRate = ol.rate;
    }
    const openAnchor = median(openProxied);
    const olRatios = openRefused.map((c, i) => c / Math.max(1e-9, openProxied[i]!));
    const olRatio = Math.round(median(olRatios) * 100) / 100;
    results.push({
      scenario: 'rate-limit',
      subject: `10x limit (${LIMIT}/s offered ${LIMIT * 10}/s): proxied CPU/req at that rate`,
      metric: 'us CPU/req',
      value: round1(openAnchor),
      errors: anchorErrors,
      note: `the route without a limit under the same open loop; rounds ${openProxied.map((x) => x.toFixed(0)).join(' ')} us${anchorUnanswered > 0 ? `; ${anchorUnanswered} never answered (the gateway fell behind the offered rate)` : ''}`,
    });
    results.push({
      scenario: 'rate-limit',
      subject: `10x limit (${LIMIT}/s offered ${LIMIT * 10}/s): refused CPU/req`,
      metric: 'us CPU/req',
      value: round1(median(openRefused)),
      errors: olErrors,
      total: olCompleted,
      anchor: `10x limit (${LIMIT}/s offered ${LIMIT * 10}/s): proxied CPU/req at that rate`,
      ratio: olRatio,
      goal: { description: '<= 0.3x a proxied request\'s CPU', met: olRatio <= 0.3 },
      note: `${passed} passed (${(passed / (seconds * olRounds)).toFixed(0)}/s: the limit plus the first burst), ${refusedN} refused over ${olRounds} interleaved ${seconds}s rounds; gateway CPU split with the proxied cost at the same rate; per-round ratios ${olRatios.map((x) => x.toFixed(2)).join(' ')}; client at ${clientRate.toFixed(0)} req/s`,
    });
  } finally {
    for (const p of cleanup.reverse()) await p.stop();
  }
  return results;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** The scenario's gateway: a route without a limit, one refusing everything after its first request, one at LIMIT/s. */
export function config(upstreamPort: number) {
  const split = [{ cluster: 'api', weight: 1 }];
  return {
    node: { id: 'bench-ratelimit', region: 'bench' },
    logging: { level: 'warn', accessLog: false },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    admin: { address: '127.0.0.1:0' },
    clusters: [{ name: 'api', endpoints: [`127.0.0.1:${upstreamPort}`] }],
    routes: [
      { name: 'plain', match: { hosts: ['plain.bench'] }, split },
      { name: 'refuse-all', match: { hosts: ['refuse.bench'] }, split, rateLimit: [{ key: { clientAddress: true }, requests: 1, per: '1h' }] },
      { name: 'limited', match: { hosts: ['limited.bench'] }, split, rateLimit: [{ key: { clientAddress: true }, requests: LIMIT, per: '1s' }] },
    ],
  };
}

export const available = () => which('taskset') !== null;
