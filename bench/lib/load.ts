import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { which, pin } from './tools.ts';

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  errors: number;
  total: number;
  tool: string;
}

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  connections?: number;
  durationSec: number;
  /** Core(s) the load generator runs on. */
  core?: number | number[];
  /** wrk threads (default 1). */
  threads?: number;
}

const WRK_SCRIPT = `
local hdrs = {}
init = function(args) end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"errors":%d,"status_errors":%d,"p50":%d,"p99":%d,"p999":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
`;

let scriptPath: string | undefined;

/** Closed-loop load: wrk when installed (C, cheap on the shared core), else autocannon. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (which('wrk')) return runWrk(options);
  return runAutocannon(options);
}

async function runWrk(o: LoadOptions): Promise<LoadResult> {
  scriptPath ??= (() => {
    const p = join(mkdtempSync(join(tmpdir(), 'edgeplane-bench-')), 'report.lua');
    writeFileSync(p, WRK_SCRIPT);
    return p;
  })();
  const args = [...pin(o.core ?? 0), 'wrk', `-t${o.threads ?? 1}`, `-c${o.connections ?? 50}`, `-d${o.durationSec}s`, '--timeout', '5s', '-s', scriptPath];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(o.url);
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    p.stdout.on('data', (d) => (text += d));
    p.stderr.on('data', (d) => (text += d));
    p.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk failed (${code}): ${text}`))));
  });
  const line = out.split('\n').find((l) => l.startsWith('{"requests"'));
  if (!line) throw new Error(`wrk printed no report:\n${out}`);
  const r = JSON.parse(line) as { requests: number; duration_us: number; errors: number; status_errors: number; p50: number; p99: number; p999: number };
  return {
    rps: Math.round(r.requests / (r.duration_us / 1e6)),
    p50Ms: r.p50 / 1000,
    p99Ms: r.p99 / 1000,
    p999Ms: r.p999 / 1000,
    errors: r.errors + r.status_errors,
    total: r.requests,
    tool: 'wrk',
  };
}

export async function runAutocannon(o: LoadOptions & { overallRate?: number; method?: string; body?: Buffer | string }): Promise<LoadResult> {
  const result = await autocannon({
    url: o.url,
    headers: o.headers ?? {},
    connections: o.connections ?? 50,
    duration: o.durationSec,
    ...(o.overallRate ? { overallRate: o.overallRate } : {}),
    ...(o.method ? { method: o.method as 'POST' } : {}),
    ...(o.body ? { body: o.body } : {}),
  });
  const non2xx = result.non2xx ?? 0;
  return {
    rps: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    p999Ms: result.latency.p99_9 ?? result.latency.p99,
    errors: result.errors + result.timeouts + non2xx,
    total: result.requests.total,
    tool: 'autocannon',
  };
}
