import type { UpstreamOutcome } from '../health/types.ts';

/**
 * Upstream outcomes travel from workers to the control process as run-length
 * encoded sequences per endpoint ([code, count, ...]): a steady stream of
 * successes is one pair per batch however busy the worker is, and the order is
 * kept, so "5 consecutive 5xx" means the same thing it means in one process.
 */
export const OUTCOMES: readonly UpstreamOutcome[] = ['success', 'http-5xx', 'gateway-error', 'connect-failure', 'reset', 'timeout'];

const CODES: Record<UpstreamOutcome, number> = {
  success: 0,
  'http-5xx': 1,
  'gateway-error': 2,
  'connect-failure': 3,
  reset: 4,
  timeout: 5,
};

export function outcomeCode(outcome: UpstreamOutcome): number {
  return CODES[outcome];
}

/** Appends one outcome to a run list (extends the last run when it is the same outcome). */
export function appendOutcome(runs: number[], code: number): void {
  const n = runs.length;
  if (n >= 2 && runs[n - 2] === code) runs[n - 1]!++;
  else runs.push(code, 1);
}

/** Calls `each` once per outcome, in order; ignores codes it does not know (a newer worker). */
export function replayOutcomes(runs: readonly number[], each: (outcome: UpstreamOutcome) => void): void {
  for (let i = 0; i + 1 < runs.length; i += 2) {
    const outcome = OUTCOMES[runs[i]!];
    const count = runs[i + 1]!;
    if (outcome === undefined || !(count > 0)) continue;
    for (let k = 0; k < count; k++) each(outcome);
  }
}
