import { join } from 'node:path';
import { compare, type BenchResult, type ScenarioOptions } from '../lib/result.ts';
import { ensureTool, pin } from '../lib/tools.ts';
import { start, waitForPort, freePort, type Running } from '../lib/proc.ts';
import { nginxProxy } from '../lib/nginx.ts';
import { startEdgeplane, repoRoot } from '../lib/edgeplane.ts';
import { upload, download, type Transfer } from '../lib/bulk.ts';
import { sampleRss, descendants, median } from '../lib/cpu.ts';

/**
 * A 100 MB body streamed through the proxy in each direction (PUT upload,
 * GET download), one transfer at a time, against the same transfer direct to
 * the upstream and through nginx (request and response buffering off, so it
 * streams too). The gateway's RSS is sampled from /proc every 50 ms during the
 * transfer: a proxy that streams stays flat, one that buffers grows by the
 * body size. Goal: growth under 50 MB.
 */
const SERVER_CORE = 1;
const CLIENT_CORE = 0;
const HOST = 'bulk.svc.plus';
const MB = 1024 * 1024;
const BYTES = 100 * MB;
const SCENARIO = 'large-body';

interface Subject {
  name: string;
  url: string;
  /** Process whose RSS is sampled (nginx: its worker). */
  rssPid?: () => number;
  note: string;
}

export async function run(options: ScenarioOptions): Promise<BenchResult[]> {
  const rounds = options.ci ? 1 : 3;
  const cleanup: Running[] = [];
  const results: BenchResult[] = [];
  try {
    const upstreamPort = await freePort();
    const up = start([...pin(CLIENT_CORE), process.execPath, '--import', 'tsx', join(repoRoot, 'bench/servers/bulk-upstream.ts'), String(upstreamPort)], { cwd: repoRoot });
    cleanup.push(up);
    await waitForPort(upstreamPort, '127.0.0.1', 15_000, up);

    const subjects: Subject[] = [{ name: 'direct', url: `http://127.0.0.1:${upstreamPort}`, note: 'no proxy' }];
    const nginxMissing = ensureTool('nginx', 'nginx');
    if (nginxMissing) results.push({ scenario: SCENARIO, subject: 'nginx', metric: 'MB/s', value: 0, errors: 0, skipped: nginxMissing });
    else {
      const port = await freePort();
      const ngx = await nginxProxy({ port, upstreamPort, core: SERVER_CORE });
      cleanup.push(ngx);
      subjects.push({ name: 'nginx', url: `http://127.0.0.1:${port}`, rssPid: () => descendants(ngx.proc.pid!)[0] ?? ngx.proc.pid!, note: '1 worker, proxy_request_buffering off, proxy_buffering off' });
    }
    const gw = await startEdgeplane(gatewayConfig(upstreamPort), SERVER_CORE);
    cleanup.push(gw);
    const gwPort = (gw.ready.listeners as { name: string; port: number }[])[0]!.port;
    subjects.push({ name: 'edgeplane', url: `http://127.0.0.1:${gwPort}`, rssPid: () => gw.proc.pid!, note: 'streamed both ways, metrics on' });

    // Warm-up: connection pools, JIT, first buffers; the RSS baseline is taken after it.
    for (const s of subjects) {
      await upload(`${s.url}/upload`, HOST, 8 * MB);
      await download(`${s.url}/download`, HOST, 8 * MB);
    }
    for (const direction of ['upload', 'download'] as const) {
      const rows = new Map<string, { speeds: number[]; growth: number[]; peak: number[]; errors: number; notes: string[] }>();
      for (let r = 0; r < rounds; r++) {
        for (const s of subjects) {
          const pid = s.rssPid?.();
          const sampler = pid !== undefined ? sampleRss(pid, 50) : null;
          let t: Transfer | null = null;
          let error: string | null = null;
          try {
            t = direction === 'upload' ? await upload(`${s.url}/upload`, HOST, BYTES) : await download(`${s.url}/download`, HOST, BYTES);
          } catch (err) {
            error = (err as Error).message;
          }
          const rss = sampler?.stop();
          const row = rows.get(s.name) ?? { speeds: [], growth: [], peak: [], errors: 0, notes: [] };
          rows.set(s.name, row);
          if (t === null || t.status !== 200 || t.bytes !== BYTES) {
            row.errors++;
            row.notes.push(error ?? `status ${t?.status}, ${t?.bytes} of ${BYTES} bytes`);
            continue;
          }
          row.speeds.push(BYTES / MB / t.seconds);
          if (rss) {
            row.growth.push((rss.peakBytes - rss.startBytes) / MB);
            row.peak.push(rss.peakBytes / MB);
          }
        }
      }
      const mk = (name: string): BenchResult => {
        const r = rows.get(name)!;
        const s = subjects.find((x) => x.name === name)!;
        return {
          scenario: SCENARIO,
          subject: `${name} ${direction}`,
          metric: 'MB/s',
          value: Math.round(median(r.speeds)),
          errors: r.errors,
          total: rounds,
          note: `${s.note}; 100 MB, median of ${rounds}${r.notes.length ? `; ${r.notes.join('; ')}` : ''}`,
        };
      };
      const direct = mk('direct');
      const nginx = rows.has('nginx') ? mk('nginx') : undefined;
      const edge = mk('edgeplane');
      results.push(direct);
      if (nginx) results.push(nginx);
      results.push(compare(edge, nginx ?? direct));
      for (const name of ['nginx', 'edgeplane']) {
        const r = rows.get(name);
        if (!r || r.growth.length === 0) continue;
        const growth = Math.max(...r.growth);
        results.push({
          scenario: SCENARIO,
          subject: `${name} ${direction} RSS growth`,
          metric: 'MB',
          value: Math.round(growth * 10) / 10,
          errors: 0,
          note: `peak RSS ${Math.round(Math.max(...r.peak))} MB; worst of ${r.growth.length} (peak during the transfer - RSS when it began, /proc every 50 ms)`,
          ...(name === 'edgeplane' ? { goal: { description: 'growth < 50 MB', met: growth < 50 } } : {}),
        });
      }
    }
  } finally {
    for (const p of cleanup.reverse()) await p.stop();
  }
  return results;
}

function gatewayConfig(upstreamPort: number) {
  return {
    node: { id: 'bench-bulk', region: 'bench' },
    logging: { level: 'warn', accessLog: false },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    admin: { address: '127.0.0.1:0' },
    clusters: [{ name: 'bulk', endpoints: [`127.0.0.1:${upstreamPort}`] }],
    routes: [{ name: 'bulk', match: { hosts: [HOST], path: { prefix: '/' } }, split: [{ cluster: 'bulk', weight: 1 }], timeout: '120s' }],
  };
}
