/**
 * A token bucket kept as one number per key: the "theoretical arrival time"
 * of GCRA (the cell-rate algorithm ATM switches and redis-cell use). A bucket
 * of `burst` tokens refilling one token every `interval` ms admits a request at
 * `now` when the TAT pushed one interval further stays within `burst`
 * intervals of `now`. The TAT is the time the bucket is full again, so a key
 * whose TAT is in the past is a full bucket and need not be stored at all.
 */
export interface BucketPolicy {
  /** Milliseconds per token (per / requests). */
  readonly interval: number;
  /** Bucket size in tokens. */
  readonly burst: number;
}

export interface BucketDecision {
  allowed: boolean;
  /** The new TAT to store when allowed (unchanged when refused). */
  tat: number;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Milliseconds until one token is back (0 when one is left). */
  retryAfterMs: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
}

/** Takes one token at `now` from a bucket whose TAT is `tat` (undefined: full). Pure. */
export function takeToken(policy: BucketPolicy, tat: number | undefined, now: number): BucketDecision {
  return takeTokenInto(policy, tat, now, { allowed: false, tat: 0, remaining: 0, retryAfterMs: 0, resetMs: 0 });
}

/**
 * takeToken() written into `out` (returned): the limiter reuses one decision
 * per limit, so a refusal in a flood allocates nothing here.
 */
export function takeTokenInto(policy: BucketPolicy, tat: number | undefined, now: number, out: BucketDecision): BucketDecision {
  const { interval, burst } = policy;
  const base = tat === undefined || tat < now ? now : tat;
  const next = base + interval;
  const capacity = burst * interval;
  if (next - now <= capacity) {
    // Tokens left = the unused part of the capacity, in whole intervals.
    const remaining = Math.floor((capacity - (next - now)) / interval + 1e-9);
    out.allowed = true;
    out.tat = next;
    out.remaining = remaining;
    out.retryAfterMs = remaining > 0 ? 0 : next - now - capacity + interval;
    out.resetMs = next - now;
    return out;
  }
  out.allowed = false;
  out.tat = base;
  out.remaining = 0;
  out.retryAfterMs = next - now - capacity;
  out.resetMs = base - now;
  return out;
}
