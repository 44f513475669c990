import os from 'node:os';
import type { Config } from '../config/schema/index.ts';

/**
 * `workers: auto | N` to a count: auto is one per CPU the process may use.
 * Absent means EDGEPLANE_WORKERS when set (so the test suite can run every
 * gateway test with workers, as EDGEPLANE_ENGINE does for the engine), else 1
 * (the single-process gateway).
 */
export function resolveWorkers(setting: Config['workers'], env: NodeJS.ProcessEnv = process.env): number {
  if (setting === undefined) {
    const fromEnv = env.EDGEPLANE_WORKERS;
    if (fromEnv === undefined || fromEnv === '') return 1;
    if (fromEnv === 'auto') return Math.max(1, os.availableParallelism());
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 1 || n > 256) throw new RangeError(`EDGEPLANE_WORKERS must be auto or an integer 1..256, got ${JSON.stringify(fromEnv)}`);
    return n;
  }
  if (setting === 'auto') return Math.max(1, os.availableParallelism());
  return Math.max(1, Math.floor(setting));
}
