import { join } from 'node:path';
import type { BenchResult, ScenarioOptions } from '../lib/result.ts';
import { runLoad } from '../lib/load.ts';
import { openLoop } from '../lib/open-loop.ts';
import { which } from '../lib/tools.ts';
import { start, waitForPort, freePort, type Running } from '../lib/proc.ts';
import { startEdgeplane, repoRoot } from '../lib/edgeplane.ts';
import { cpuMicros, median } from '../lib/cpu.ts';
import { scrape, metricValue } from '../lib/metrics-text.ts';

/**
 * What a refused request costs: the gateway's CPU per request on a route whose
 * limit refuses everything (one bucket, spent) against the same gateway
 * proxying a route without a limit, in interleaved closed-loop rounds; then a
 * route under 10x its limit (open loop at ten times the rate), whose CPU is
 * split between the passed and the refused requests with the proxied cost of
 * the same run. Goal (issue 18): CPU per refused request <= 0.3x a proxied one.
 * Gateway on core 1, load and upstream on core 0.
 */
const SERVER_CORE = 1;
const CLIENT_CORE = 0;
const LIMIT = 200; // requests per second on the `limited` route

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
    const gw = await startEdgeplane(config(upstreamPort), SERVER_CORE);
    cleanup.push(gw);
    const ready = gw.ready as { listeners: { name: string; port: number }[]; admin: { port: number } };
    const url = `http://127.0.0.1:${ready.listeners.find((l) => l.name === 'http')!.port}/hello`;
    const metricsUrl = `http://127.0.0.1:${ready.admin.port}/metrics`;
    const pid = gw.proc.pid!;
    const passedRefuseAll = async () => metricValue(await scrape(metricsUrl), 'edgeplane_requests_total', 'route="refuse-all",cluster="api",code="200"') ?? 0;

    for (const host of ['plain.bench', 'refuse.bench']) await runLoad({ url, headers: { Host: host }, durationSec: 1, core: CLIENT_CORE });
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

    // 10x the limit, open loop: the passed share stays at the limit and the rest is refused.
    const seconds = options.ci ? 3 : 8;
    const before = cpuMicros(pid);
    // No warm-up (the gateway is warm from the rounds above), so the CPU measured is that of the counted requests.
    const ol = await openLoop({ url, host: 'limited.bench', rate: LIMIT * 10, seconds, warmupSec: 0, core: CLIENT_CORE });
    const used = cpuMicros(pid) - before;
    const passed = ol.statuses['200'] ?? 0;
    const refusedN = ol.statuses['429'] ?? 0;
    const perRefused = refusedN > 0 ? Math.max(0, (used - passed * proxied) / refusedN) : 0;
    results.push({
      scenario: 'rate-limit',
      subject: `10x limit (${LIMIT}/s offered ${LIMIT * 10}/s): refused CPU/req`,
      metric: 'us CPU/req',
      value: round1(perRefused),
      // The client counts 429s as errors: only other statuses and requests without an answer are.
      errors: ol.sent - passed - refusedN,
      total: ol.completed,
      anchor: 'proxied CPU/req',
      ratio: Math.round((perRefused / Math.max(1e-9, proxied)) * 100) / 100,
      goal: { description: '<= 0.3x a proxied request\'s CPU', met: perRefused <= 0.3 * proxied },
      note: `${passed} passed (${(passed / seconds).toFixed(0)}/s: the limit plus the first burst), ${refusedN} refused; gateway CPU split with the proxied cost above; client at ${ol.rate.toFixed(0)} req/s`,
    });
  } finally {
    for (const p of cleanup.reverse()) await p.stop();
  }
  return results;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

function config(upstreamPort: number) {
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
