import { EdgeplaneError } from '../util/errors.ts';
import { GossipConfigError } from './errors.ts';
import { GOSSIP_DEFAULTS } from './options.ts';
import { parseDuration } from '../util/duration.ts';

/** Why an authenticated message was refused as not fresh. */
export type ReplayReason = 'replayed' | 'clock_skew';

/**
 * An authenticated message that is not fresh: seen before (a replay), stamped
 * before this member started or before what its cache still covers, or
 * stamped further from this member's clock than the skew tolerance.
 */
export class GossipReplayError extends EdgeplaneError {
  readonly reason: ReplayReason;
  constructor(reason: ReplayReason, message: string) {
    super('EP_GOSSIP_REPLAY', message);
    this.reason = reason;
  }
}

export interface ReplayWindowOptions {
  /** Wall-clock milliseconds (the agent's injected Clock.wallNow). */
  now: () => number;
  /** Messages stamped further than this from `now` either way are refused. Default 30 s. */
  skewMs?: number;
  /** Nonces remembered at most; past it the oldest are forgotten and everything as old refused. Default 100,000. */
  maxEntries?: number;
  /** Messages stamped before this are refused; default `now()` at construction (see below). */
  floor?: number;
}

export const DEFAULT_MAX_CLOCK_SKEW_MS = parseDuration(GOSSIP_DEFAULTS.maxClockSkew);
const DEFAULT_MAX_ENTRIES = 100_000;
/** Buckets per skew interval: expiry in slices of skew/8 keeps it O(1) per message. */
const BUCKETS_PER_SKEW = 8;

/**
 * The replay window of authenticated gossip (a timestamp + nonce cache, as
 * Fernet tokens and Kerberos authenticators do it): every sealed message
 * carries the sender's wall-clock time and a random 96-bit nonce, both
 * covered by the AES-GCM tag. A message is accepted once, and only while its
 * timestamp is within `skewMs` of this member's clock; nonces are remembered
 * exactly as long as their message could still pass the time check, so
 * memory is the message rate times twice the skew.
 *
 * Two floors close the gaps a cache alone leaves:
 * - a member refuses everything stamped before it started: it cannot know
 *   what its previous life saw, and a restart must not reopen the window;
 * - when the cache is full, the oldest slice is forgotten and everything as
 *   old is refused from then on (safe: never "forget and accept").
 */
export class ReplayWindow {
  readonly skewMs: number;
  readonly maxEntries: number;
  readonly #now: () => number;
  readonly #bucketMs: number;
  #floor: number;
  readonly #seen = new Map<string, number>();
  readonly #buckets = new Map<number, string[]>();

  constructor(options: ReplayWindowOptions) {
    this.skewMs = options.skewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!Number.isFinite(this.skewMs) || this.skewMs < 1) throw new GossipConfigError(`gossip.maxClockSkew must be at least 1ms, got ${this.skewMs}`);
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new GossipConfigError(`replay window size must be a positive integer, got ${this.maxEntries}`);
    this.#now = options.now;
    this.#bucketMs = Math.max(1, Math.floor(this.skewMs / BUCKETS_PER_SKEW));
    this.#floor = options.floor ?? this.#now();
  }

  /** Nonces remembered now (for tests and stats). */
  get size(): number {
    return this.#seen.size;
  }

  /**
   * The cheap check before decryption: refuses a timestamp that cannot be
   * fresh. The timestamp is not authenticated yet, so it may only refuse.
   */
  check(timestamp: number): void {
    const now = this.#now();
    if (timestamp > now + this.skewMs) throw new GossipReplayError('clock_skew', `message stamped ${timestamp - now}ms ahead of this clock (tolerance ${this.skewMs}ms)`);
    if (timestamp < now - this.skewMs) throw new GossipReplayError('clock_skew', `message stamped ${now - timestamp}ms behind this clock (tolerance ${this.skewMs}ms)`);
    if (timestamp < this.#floor) throw new GossipReplayError('replayed', 'message stamped before this member started (or before what its replay cache covers)');
  }

  /** After authentication: accepts a (timestamp, nonce) once; throws GossipReplayError otherwise. */
  admit(timestamp: number, nonce: Uint8Array): void {
    this.check(timestamp);
    this.#expire();
    const key = Buffer.from(nonce.buffer, nonce.byteOffset, nonce.byteLength).toString('latin1');
    if (this.#seen.has(key)) throw new GossipReplayError('replayed', 'message seen before (replay)');
    while (this.#seen.size >= this.maxEntries) this.#evictOldest();
    // Evicting may have raised the floor past this very message.
    if (timestamp < this.#floor) throw new GossipReplayError('replayed', 'message older than what the replay cache still covers');
    this.#seen.set(key, timestamp);
    const b = Math.floor(timestamp / this.#bucketMs);
    const bucket = this.#buckets.get(b);
    if (bucket) bucket.push(key);
    else this.#buckets.set(b, [key]);
  }

  /** Forgets slices whose every timestamp is now too old to pass check() anyway. */
  #expire(): void {
    const oldest = this.#now() - this.skewMs;
    for (const [b, keys] of this.#buckets) {
      if ((b + 1) * this.#bucketMs > oldest) continue;
      for (const k of keys) this.#seen.delete(k);
      this.#buckets.delete(b);
    }
  }

  #evictOldest(): void {
    let min = Infinity;
    for (const b of this.#buckets.keys()) if (b < min) min = b;
    if (min === Infinity) return;
    for (const k of this.#buckets.get(min)!) this.#seen.delete(k);
    this.#buckets.delete(min);
    this.#floor = Math.max(this.#floor, (min + 1) * this.#bucketMs);
  }
}
