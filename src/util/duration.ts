/** Durations in config are strings such as `250ms`, `2s`, `1m`, `1h`, or `1m30s`. */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+$';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)/g;
const WHOLE = new RegExp(DURATION_PATTERN);

export function parseDuration(text: string): number {
  if (!WHOLE.test(text)) throw new Error(`invalid duration ${JSON.stringify(text)} (use e.g. 250ms, 2s, 1m)`);
  let total = 0;
  for (const m of text.matchAll(PART)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return Math.round(total);
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
