/**
 * Open-loop HTTP load at a fixed rate, with latency measured from the moment
 * each request was *due* (not when a free connection let it go), so a stall
 * shows up in the percentiles instead of silently lowering the rate
 * (coordinated omission). Latencies are kept at microsecond resolution:
 * autocannon's histogram records whole milliseconds, too coarse for a
 * "p99 added <= 1 ms" goal.
 *
 *   node --import tsx bench/clients/open-loop.ts URL --rate 5000 --seconds 10 [--warmup 2] [--host H] [--connections 64]
 *
 * Prints one JSON line: {sent, completed, errors, rate, p50Ms, p90Ms, p99Ms, p999Ms, maxMs, statuses, clientCpu}.
 */
import { parseArgs } from 'node:util';
import { Pool, type Dispatcher } from 'undici';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rate: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '1' },
    host: { type: 'string' },
    connections: { type: 'string', default: '64' },
  },
});
const url = new URL(positionals[0]!);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const pool = new Pool(url.origin, { connections: Number(values.connections), pipelining: 1, keepAliveTimeout: 30_000 });
const path = url.pathname + url.search;
const headers = values.host ? { host: values.host } : {};

const total = Math.ceil(rate * (warmup + seconds));
const recordFrom = Math.ceil(rate * warmup);
const latencies = new Float64Array(total);
let recorded = 0;
let sent = 0;
let completed = 0;
let errors = 0;
const statuses: Record<string, number> = {};
const start = performance.now();
const cpuStart = process.cpuUsage();

/**
 * One request as a bare undici dispatch handler: no promise, no body stream.
 * The client shares its core with the upstream, so its own cost per request
 * decides how high a rate it can drive without becoming the bottleneck.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly index: number;
  readonly due: number;
  status = 0;
  constructor(index: number) {
    this.index = index;
    this.due = start + (index * 1000) / rate;
  }
  onConnect(): void {}
  onHeaders(status: number): boolean {
    this.status = status;
    return true;
  }
  onData(): boolean {
    return true;
  }
  onComplete(): void {
    statuses[this.status] = (statuses[this.status] ?? 0) + 1;
    if (this.status < 200 || this.status >= 300) errors++;
    this.done();
  }
  onError(): void {
    errors++;
    statuses.error = (statuses.error ?? 0) + 1;
    this.done();
  }
  done(): void {
    completed++;
    if (this.index >= recordFrom) latencies[recorded++] = performance.now() - this.due;
  }
}

function fire(index: number): void {
  pool.dispatch({ path, method: 'GET', headers }, new Exchange(index));
}

await new Promise<void>((resolve) => {
  const tick = () => {
    const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
    while (sent < due) fire(sent++);
    if (sent >= total) resolve();
    else setTimeout(tick, 1);
  };
  tick();
});
const deadline = performance.now() + 10_000;
while (completed < sent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
errors += sent - completed; // never answered within 10 s of the end
const elapsed = (performance.now() - start) / 1000;
const sorted = latencies.subarray(0, recorded).sort();
const q = (p: number) => (recorded === 0 ? 0 : sorted[Math.min(recorded - 1, Math.floor(p * recorded))]!);
const round = (x: number) => Math.round(x * 1000) / 1000;
process.stdout.write(
  JSON.stringify({
    sent,
    completed,
    errors,
    rate: Math.round(completed / elapsed),
    p50Ms: round(q(0.5)),
    p90Ms: round(q(0.9)),
    p99Ms: round(q(0.99)),
    p999Ms: round(q(0.999)),
    maxMs: round(recorded ? sorted[recorded - 1]! : 0),
    statuses,
    // The client's own CPU share of the run: near 1 means it, not the server, set the latency.
    clientCpu: round((() => {
      const u = process.cpuUsage(cpuStart);
      return (u.user + u.system) / 1e6 / elapsed;
    })()),
  }) + '\n',
);
await pool.close();
