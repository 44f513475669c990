import { join } from 'node:path';
import type { BenchResult, ScenarioOptions } from '../lib/result.ts';
import { runLoad } from '../lib/load.ts';
import { ensureTool, pin } from '../lib/tools.ts';
import { start, waitForPort, freePort, type Running } from '../lib/proc.ts';
import { nginxUpstream, nginxProxy } from '../lib/nginx.ts';
import { startEdgeplane, repoRoot } from '../lib/edgeplane.ts';
import { openLoop, type OpenLoopResult } from '../lib/open-loop.ts';
import { median } from '../lib/cpu.ts';
import { gatewayConfig } from './proxy.ts';

/**
 * Open-loop latency: the proxy scenario's gateway is first driven closed-loop
 * to find its maximum, then every subject (direct, nginx, edgeplane) gets the
 * same fixed rate of 50% of that maximum from an open-loop client (latency
 * from each request's due time, microsecond resolution). The number that
 * counts is the p99 the proxy adds over going direct, per round, median of
 * rounds. Goal: <= 1 ms. Each row's note has the client's own CPU use: near
 * 100% would mean the client, not the server, set the latency.
 */
const SERVER_CORE = 1;
const CLIENT_CORE = 0;
const HOST = 'api.svc.plus';
const SCENARIO = 'latency';

export async function run(options: ScenarioOptions): Promise<BenchResult[]> {
  // Many short rounds rather than a few long ones: on a shared machine a stall of
  // a second lands in one round's p99, and the median of the rounds stays clean.
  const rounds = options.ci ? 1 : 7;
  const seconds = options.ci ? 4 : 5;
  const cleanup: Running[] = [];
  const results: BenchResult[] = [];
  try {
    const upstreamPort = await freePort();
    const nginxMissing = ensureTool('nginx', 'nginx');
    if (nginxMissing) {
      const up = start([...pin(CLIENT_CORE), process.execPath, '--import', 'tsx', join(repoRoot, 'bench/servers/node-upstream.ts'), String(upstreamPort)], { cwd: repoRoot });
      cleanup.push(up);
      await waitForPort(upstreamPort, '127.0.0.1', 15_000, up);
    } else {
      cleanup.push(await nginxUpstream(upstreamPort, CLIENT_CORE));
    }
    const subjects: { name: string; url: string; note: string }[] = [{ name: 'direct', url: `http://127.0.0.1:${upstreamPort}/hello`, note: 'no proxy' }];
    if (nginxMissing) results.push({ scenario: SCENARIO, subject: 'nginx', metric: 'ms p99', value: 0, errors: 0, skipped: nginxMissing });
    else {
      const port = await freePort();
      cleanup.push(await nginxProxy({ port, upstreamPort, core: SERVER_CORE }));
      subjects.push({ name: 'nginx', url: `http://127.0.0.1:${port}/hello`, note: '1 worker, proxy_pass, upstream keepalive' });
    }
    const gw = await startEdgeplane(gatewayConfig(upstreamPort), SERVER_CORE);
    cleanup.push(gw);
    const gwPort = (gw.ready.listeners as { name: string; port: number }[]).find((l) => l.name === 'http')!.port;
    const edgeUrl = `http://127.0.0.1:${gwPort}/hello`;
    subjects.push({ name: 'edgeplane', url: edgeUrl, note: 'one route, 90/10 split, metrics on' });

    await runLoad({ url: edgeUrl, headers: { Host: HOST }, durationSec: 1, core: CLIENT_CORE });
    const max = await runLoad({ url: edgeUrl, headers: { Host: HOST }, durationSec: options.ci ? 3 : 10, core: CLIENT_CORE });
    const rate = Math.max(100, Math.floor(max.rps / 2));
    results.push({ scenario: SCENARIO, subject: 'edgeplane max (closed loop)', metric: 'req/s', value: max.rps, p50Ms: max.p50Ms, p99Ms: max.p99Ms, p999Ms: max.p999Ms, errors: max.errors, total: max.total, note: `${max.tool}; the open-loop rate below is half of this: ${rate} req/s` });

    const runs = new Map<string, OpenLoopResult[]>(subjects.map((s) => [s.name, []]));
    for (let r = 0; r < rounds; r++) {
      for (const s of subjects) runs.get(s.name)!.push(await openLoop({ url: s.url, host: HOST, rate, seconds, warmupSec: 1, core: CLIENT_CORE }));
    }
    for (const s of subjects) {
      const rs = runs.get(s.name)!;
      results.push({
        scenario: SCENARIO,
        subject: `${s.name} at ${rate} req/s`,
        metric: 'req/s',
        value: Math.round(median(rs.map((x) => x.rate))),
        p50Ms: median(rs.map((x) => x.p50Ms)),
        p99Ms: median(rs.map((x) => x.p99Ms)),
        p999Ms: median(rs.map((x) => x.p999Ms)),
        errors: rs.reduce((n, x) => n + x.errors, 0),
        total: rs.reduce((n, x) => n + x.sent, 0),
        note: `${s.note}; open loop, ${seconds}s x ${rounds}, median of rounds; max ${Math.max(...rs.map((x) => x.maxMs))} ms; client CPU ${Math.round(100 * Math.max(...rs.map((x) => x.clientCpu)))}% of its core`,
      });
    }
    const direct = runs.get('direct')!;
    for (const name of ['nginx', 'edgeplane']) {
      const rs = runs.get(name);
      if (!rs) continue;
      const added = rs.map((x, i) => x.p99Ms - direct[i]!.p99Ms);
      const value = Math.round(median(added) * 1000) / 1000;
      results.push({
        scenario: SCENARIO,
        subject: `${name} p99 added`,
        metric: 'ms',
        value,
        errors: 0,
        anchor: 'direct',
        note: `p99 minus direct's p99 in the same round; per round: ${added.map((x) => x.toFixed(3)).join(' ')}${direct.some((d) => d.clientCpu > 0.8) ? '; the client used >80% of its core: latencies include its own queueing' : ''}`,
        ...(name === 'edgeplane' ? { goal: { description: 'p99 added <= 1 ms at 50% load', met: value <= 1 } } : {}),
      });
    }
    // Issue 15's form of the goal: edgeplane's p99 at most 2x nginx's p99 at the same offered load, per round, median of rounds.
    const nginxRuns = runs.get('nginx');
    const edgeRuns = runs.get('edgeplane');
    if (nginxRuns && edgeRuns) {
      const ratios = edgeRuns.map((x, i) => x.p99Ms / Math.max(0.001, nginxRuns[i]!.p99Ms));
      const ratio = Math.round(median(ratios) * 100) / 100;
      results.push({
        scenario: SCENARIO,
        subject: 'edgeplane p99 vs nginx p99',
        metric: 'ms',
        value: median(edgeRuns.map((x) => x.p99Ms)),
        errors: 0,
        anchor: 'nginx',
        ratio,
        goal: { description: '<= 2x nginx p99 at the same offered load', met: ratio <= 2 },
        note: `per round: ${ratios.map((x) => x.toFixed(2)).join(' ')}; nginx p99 median ${median(nginxRuns.map((x) => x.p99Ms)).toFixed(3)} ms`,
      });
    }
  } finally {
    for (const p of cleanup.reverse()) await p.stop();
  }
  return results;
}
