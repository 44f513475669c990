import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { VerifyKey } from './keys.ts';

/** A token that passed verification, with everything the hot path needs precomputed. */
export interface VerifiedToken {
  readonly payload: Readonly<Record<string, unknown>>;
  /** The key that verified it: once revoked (rotated out), the entry is dead. */
  readonly key: VerifyKey;
  /** Wall-clock ms after which the entry must not be used (never after exp). */
  readonly expiresAt: number;
  /** claimsToHeaders and payloadHeader, ready to send (shared: never mutate). */
  readonly setHeaders: [name: string, value: string][];
  readonly scopes: ReadonlySet<string>;
}

/**
 * Verified tokens by SHA-256 of (provider, token): the token itself is never
 * kept as a key, and a digest collision is not a practical concern. Bounded
 * by entry count (LRU). Expiry and revocation are checked on read against the
 * injected clock, which keeps the cache deterministic under ManualClock.
 */
export class TokenCache {
  readonly #lru: LRUCache<string, VerifiedToken>;
  constructor(maxEntries: number) {
    this.#lru = new LRUCache<string, VerifiedToken>({ max: maxEntries });
  }

  static key(providerIndex: number, token: string): string {
    // The first provider's keys are the bare 44-character digest (no string concatenated per request); others' are longer.
    const digest = hash('sha256', token, 'base64');
    return providerIndex === 0 ? digest : digest + providerIndex;
  }

  /**
   * The verified token, or (a miss) the key to `set` it under once verified.
   * Always through the digest: a presented token is never compared with a
   * remembered one (an early-exit compare against another client's token
   * would be a timing oracle for it; a constant-time one costs more than the
   * SHA-256), and no token is kept in memory.
   */
  lookup(providerIndex: number, token: string, wallNow: number): VerifiedToken | string {
    const key = TokenCache.key(providerIndex, token);
    return this.get(key, wallNow) ?? key;
  }

  get(key: string, wallNow: number): VerifiedToken | undefined {
    const entry = this.#lru.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= wallNow || entry.key.revoked) {
      this.#lru.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, entry: VerifiedToken, wallNow: number): void {
    if (entry.expiresAt > wallNow && !entry.key.revoked) this.#lru.set(key, entry);
  }

  get size(): number {
    return this.#lru.size;
  }

  clear(): void {
    this.#lru.clear();
  }
}
