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
  /**
   * The last token looked up and found, compared in full: a client sending the
   * same token on request after request (the usual session) skips the digest
   * and the LRU. One token per cache is held this way, no more. The `===` may
   * stop at the first differing byte (memcmp: well under a nanosecond per word,
   * against this one token only); Envoy's jwt_authn keys its whole cache by the
   * raw token the same way. A constant-time compare (Buffer + timingSafeEqual)
   * or a Map lookup costs as much as the SHA-256 it replaces (~3 us for an
   * RS256 token here), so the memo would be pointless.
   */
  #lastToken: string | null = null;
  #lastProvider = -1;
  #lastEntry: VerifiedToken | null = null;

  constructor(maxEntries: number) {
    this.#lru = new LRUCache<string, VerifiedToken>({ max: maxEntries });
  }

  static key(providerIndex: number, token: string): string {
    return hash('sha256', token, 'base64') + providerIndex;
  }

  /** The verified token, or (a miss) the key to `set` it under once verified. */
  lookup(providerIndex: number, token: string, wallNow: number): VerifiedToken | string {
    const last = this.#lastEntry;
    if (last !== null && token === this.#lastToken && providerIndex === this.#lastProvider) {
      if (last.expiresAt > wallNow && !last.key.revoked) return last;
      this.#forgetLast();
    }
    const key = TokenCache.key(providerIndex, token);
    const entry = this.get(key, wallNow);
    if (entry === undefined) return key;
    this.#lastToken = token;
    this.#lastProvider = providerIndex;
    this.#lastEntry = entry;
    return entry;
  }

  #forgetLast(): void {
    this.#lastToken = null;
    this.#lastProvider = -1;
    this.#lastEntry = null;
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
    this.#forgetLast();
    this.#lru.clear();
  }
}
