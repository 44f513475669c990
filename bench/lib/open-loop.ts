import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { pin } from './tools.ts';
import { repoRoot } from './edgeplane.ts';

export interface OpenLoopResult {
  sent: number;
  completed: number;
  errors: number;
  /** Achieved requests per second. */
  rate: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  statuses: Record<string, number>;
  /** The client process's CPU use over the run (1 = a whole core): near 1, the client was the bottleneck. */
  clientCpu: number;
}

/** Runs bench/clients/open-loop.ts (fixed-rate load, latency from each request's due time) pinned to `core`. */
export function openLoop(o: { url: string; host?: string; rate: number; seconds: number; warmupSec?: number; core?: number; connections?: number }): Promise<OpenLoopResult> {
  const args = [
    ...pin(o.core ?? 0),
    process.execPath,
    '--import',
    'tsx',
    join(repoRoot, 'bench/clients/open-loop.ts'),
    o.url,
    '--rate',
    String(o.rate),
    '--seconds',
    String(o.seconds),
    '--warmup',
    String(o.warmupSec ?? 1),
    '--connections',
    String(o.connections ?? 64),
    ...(o.host ? ['--host', o.host] : []),
  ];
  return new Promise((resolve, reject) => {
    const p = spawn(args[0]!, args.slice(1), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"sent"'));
      if (code !== 0 || !line) reject(new Error(`open-loop client failed (${code}):\n${out}`));
      else resolve(JSON.parse(line) as OpenLoopResult);
    });
  });
}
