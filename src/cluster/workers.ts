import os from 'node:os';
import type { Config } from '../config/schema/index.ts';

/** `workers: auto | N` to a count: auto is one per CPU the process may use; absent means 1 (the single-process gateway). */
export function resolveWorkers(setting: Config['workers']): number {
  if (setting === undefined) return 1;
  if (setting === 'auto') return Math.max(1, os.availableParallelism());
  return Math.max(1, Math.floor(setting));
}
