import { join } from 'node:path';
import type { BenchResult, ScenarioOptions } from '../lib/result.ts';
import { runLoad } from '../lib/load.ts';
import { ensureTool, pin } from '../lib/tools.ts';
import { start, waitForPort, freePort, type Running } from '../lib/proc.ts';
import { nginxUpstream } from '../lib/nginx.ts';
import { startEdgeplane, repoRoot } from '../lib/edgeplane.ts';
import { openLoop } from '../lib/open-loop.ts';
import { rssBytes, median } from '../lib/cpu.ts';
import { metricValue, scrape, slope } from '../lib/metrics-text.ts';
import { gatewayConfig } from './proxy.ts';

/**
 * Soak: the proxy scenario's gateway at 50% of its measured maximum (open
 * loop) for 5 minutes (20 s in ci mode). Every second the gateway's RSS is read
 * from /proc; every few seconds its admin /metrics is scraped for event-loop
 * lag (prom-client's monitorEventLoopDelay gauges, reset at each scrape, so
 * each sample covers the window since the previous one) and V8 heap in use.
 * "No growth trend": after a warm-up fifth of the run, the least-squares fit
 * of RSS over time may grow by less than 10 MB over the rest of the run.
 */
const SERVER_CORE = 1;
const CLIENT_CORE = 0;
const HOST = 'api.svc.plus';
const SCENARIO = 'soak';
const MB = 1024 * 1024;

export async function run(options: ScenarioOptions): Promise<BenchResult[]> {
  const seconds = options.ci ? 20 : 300;
  const scrapeEverySec = options.ci ? 2 : 5;
  const cleanup: Running[] = [];
  const results: BenchResult[] = [];
  try {
    const upstreamPort = await freePort();
    if (ensureTool('nginx', 'nginx')) {
      const up = start([...pin(CLIENT_CORE), process.execPath, '--import', 'tsx', join(repoRoot, 'bench/servers/node-upstream.ts'), String(upstreamPort)], { cwd: repoRoot });
      cleanup.push(up);
      await waitForPort(upstreamPort, '127.0.0.1', 15_000, up);
    } else {
      cleanup.push(await nginxUpstream(upstreamPort, CLIENT_CORE));
    }
    const gw = await startEdgeplane(gatewayConfig(upstreamPort), SERVER_CORE);
    cleanup.push(gw);
    const pid = gw.proc.pid!;
    const port = (gw.ready.listeners as { name: string; port: number }[]).find((l) => l.name === 'http')!.port;
    const admin = gw.ready.admin as { port: number };
    const metricsUrl = `http://127.0.0.1:${admin.port}/metrics`;
    const url = `http://127.0.0.1:${port}/hello`;

    await runLoad({ url, headers: { Host: HOST }, durationSec: 1, core: CLIENT_CORE });
    const max = await runLoad({ url, headers: { Host: HOST }, durationSec: options.ci ? 2 : 5, core: CLIENT_CORE });
    const rate = Math.max(100, Math.floor(max.rps / 2));

    const rss: { t: number; mb: number }[] = [];
    const lag: { p99: number; max: number }[] = [];
    const heap: number[] = [];
    const t0 = Date.now();
    await scrape(metricsUrl); // resets the lag window: the first sample covers the soak only
    const rssTimer = setInterval(() => rss.push({ t: (Date.now() - t0) / 1000, mb: rssBytes(pid) / MB }), 1000);
    const scrapeTimer = setInterval(() => {
      void scrape(metricsUrl)
        .then((text) => {
          const p99 = metricValue(text, 'edgeplane_nodejs_eventloop_lag_p99_seconds');
          const mx = metricValue(text, 'edgeplane_nodejs_eventloop_lag_max_seconds');
          const used = metricValue(text, 'edgeplane_nodejs_heap_size_used_bytes');
          if (p99 !== undefined && mx !== undefined) lag.push({ p99: p99 * 1000, max: mx * 1000 });
          if (used !== undefined) heap.push(used / MB);
        })
        .catch(() => {});
    }, scrapeEverySec * 1000);
    let load;
    try {
      load = await openLoop({ url, host: HOST, rate, seconds, warmupSec: 1, core: CLIENT_CORE });
    } finally {
      clearInterval(rssTimer);
      clearInterval(scrapeTimer);
    }
    const alive = gw.proc.exitCode === null && gw.proc.signalCode === null;

    results.push({
      scenario: SCENARIO,
      subject: `edgeplane ${seconds}s at ${rate} req/s`,
      metric: 'req/s',
      value: load.rate,
      p50Ms: load.p50Ms,
      p99Ms: load.p99Ms,
      p999Ms: load.p999Ms,
      errors: load.errors + (alive ? 0 : 1),
      total: load.sent,
      note: `open loop at 50% of the closed-loop max (${max.rps} req/s); max latency ${load.maxMs} ms${alive ? '' : '; the gateway died'}`,
    });

    const warm = rss.filter((s) => s.t >= seconds / 5);
    const fitted = slope(warm.map((s) => s.t), warm.map((s) => s.mb)) * (warm.length > 1 ? warm[warm.length - 1]!.t - warm[0]!.t : 0);
    const growth = Math.round(fitted * 10) / 10;
    results.push({
      scenario: SCENARIO,
      subject: 'edgeplane RSS trend',
      metric: 'MB',
      value: growth,
      errors: 0,
      note: `fitted growth after warm-up; RSS start ${rss[0]?.mb.toFixed(1)} MB, end ${rss[rss.length - 1]?.mb.toFixed(1)} MB, max ${Math.max(...rss.map((s) => s.mb)).toFixed(1)} MB; heap used ${heap.length ? `${heap[0]!.toFixed(1)} -> ${heap[heap.length - 1]!.toFixed(1)} MB` : 'n/a'}; ${rss.length} samples`,
      goal: { description: 'no growth trend: fitted RSS growth < 10 MB', met: growth < 10 },
    });
    results.push({
      scenario: SCENARIO,
      subject: 'edgeplane event-loop lag',
      metric: 'ms p99',
      value: Math.round(median(lag.map((l) => l.p99)) * 100) / 100,
      errors: 0,
      note: lag.length
        ? `median of ${lag.length} windows of ${scrapeEverySec}s; worst window p99 ${Math.max(...lag.map((l) => l.p99)).toFixed(2)} ms, max ${Math.max(...lag.map((l) => l.max)).toFixed(2)} ms (edgeplane_nodejs_eventloop_lag_*; 10 ms sampling resolution)`
        : 'no lag samples (admin /metrics unreachable?)',
    });
  } finally {
    for (const p of cleanup.reverse()) await p.stop();
  }
  return results;
}
