import { Agent, request, type Dispatcher } from 'undici';
import type { Clock, TimerHandle } from '../../util/clock.ts';
import type { Logger } from '../../util/logger.ts';
import { JwksError } from './errors.ts';
import { KeySet, MAX_JWKS_BYTES, parseJwks, type VerifyKey } from './keys.ts';
import { jwtMetrics } from './metrics.ts';

/** Where a provider's verification keys come from. */
export interface KeySource {
  /**
   * Keys that may verify a token with this alg and kid. Synchronous except when
   * the kid is unknown (or nothing is loaded yet) and a refetch is allowed: then
   * the caller waits for that one fetch, bounded by the fetch timeout.
   */
  resolve(alg: string, kid: string | undefined): VerifyKey[] | Promise<VerifyKey[]>;
  /** Whether any key set is loaded (an empty answer then means "unknown key", not "no keys yet"). */
  readonly loaded: boolean;
  start(): Promise<void>;
  /** Resolves when no fetch is in flight (tests and readiness; never rejects). */
  whenIdle(): Promise<void>;
  close(): void;
}

/** File JWKS, PEM key or secret: loaded once when the provider is built. */
export class StaticKeySource implements KeySource {
  readonly #set: KeySet;
  readonly loaded = true;
  constructor(set: KeySet) {
    this.#set = set;
  }
  resolve(alg: string, kid: string | undefined): VerifyKey[] {
    return this.#set.candidates(alg, kid);
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  whenIdle(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {}
}

export interface RemoteKeySourceOptions {
  provider: string;
  url: string;
  /** Allowed algorithms: keys that fit none of them are left out of the set. */
  algorithms: readonly string[];
  cacheTtlMs: number;
  cooldownMs: number;
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
  /** Shared connection pool for JWKS fetches; one is created when absent. */
  dispatcher?: Dispatcher;
}

/** Longest wait between retries of a failing JWKS endpoint. */
const MAX_RETRY_MS = 60_000;
const FIRST_RETRY_MS = 1_000;

/**
 * A JWKS URL with jose's remote-key-set semantics plus what a gateway needs:
 * - fresh for `cacheTtl`, and refreshed in the background at 80% of it, so no
 *   request ever waits for a scheduled refresh;
 * - a token with an unknown kid triggers one refetch, at most once per
 *   `cooldown` (requests in the meantime share the fetch in flight);
 * - stale-while-error: a failed, garbage or hanging fetch never replaces the
 *   current set, which stays in use while retries back off;
 * - keys that vanish from a refreshed set are revoked, which drops the tokens
 *   they verified from the cache.
 */
export class RemoteKeySource implements KeySource {
  readonly #o: RemoteKeySourceOptions;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #logUrl: string;
  #set: KeySet | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  /** When an unknown kid last triggered a fetch; background refreshes don't count, so a rotation right after one is still picked up. */
  #lastKidFetch = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;
  #abort: AbortController | undefined;
  #timer: TimerHandle | undefined;
  #failures = 0;
  #closed = false;

  constructor(options: RemoteKeySourceOptions) {
    this.#o = options;
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher = options.dispatcher ?? new Agent({ connections: 2, connect: { timeout: options.timeoutMs } });
    const u = new URL(options.url);
    // Logged without userinfo or query, which may carry credentials.
    this.#logUrl = `${u.protocol}//${u.host}${u.pathname}`;
  }

  get loaded(): boolean {
    return this.#set !== undefined;
  }

  /** Fetches for the first time; failures are logged and retried in the background, never thrown. */
  async start(): Promise<void> {
    if (this.#set === undefined) await this.refresh();
  }

  async whenIdle(): Promise<void> {
    while (this.#inflight) await this.#inflight;
  }

  close(): void {
    this.#closed = true;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort?.abort(new JwksError('network_error', 'closed'));
    if (this.#ownsDispatcher) void this.#dispatcher.close().catch(() => {});
  }

  resolve(alg: string, kid: string | undefined): VerifyKey[] | Promise<VerifyKey[]> {
    const set = this.#set;
    if (set !== undefined) {
      const found = set.candidates(alg, kid);
      // Refetching only helps a kid the set has never heard of.
      if (found.length > 0 || kid === undefined || set.hasKid(kid)) return found;
    }
    let pending = this.#inflight;
    if (pending === undefined) {
      const now = this.#o.clock.now();
      if (now - this.#lastKidFetch < this.#o.cooldownMs) return [];
      this.#lastKidFetch = now;
      pending = this.refresh();
    }
    return pending.then(() => this.#set?.candidates(alg, kid) ?? []);
  }

  /** Starts a fetch unless one is in flight; resolves when it ends (never rejects). */
  refresh(): Promise<void> {
    if (this.#inflight) return this.#inflight;
    if (this.#closed) return Promise.resolve();
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const p = this.#fetch().then(
      (set) => this.#onSuccess(set),
      (err: unknown) => this.#onFailure(err),
    );
    this.#inflight = p;
    return p;
  }

  async #fetch(): Promise<{ set: KeySet; skipped: string[] }> {
    const o = this.#o;
    const ac = new AbortController();
    this.#abort = ac;
    const timer = o.clock.setTimeout(() => ac.abort(new JwksError('timeout', `no complete answer within ${o.timeoutMs}ms`)), o.timeoutMs);
    try {
      const res = await request(o.url, {
        method: 'GET',
        dispatcher: this.#dispatcher,
        signal: ac.signal,
        headers: { accept: 'application/jwk-set+json, application/json' },
      });
      if (res.statusCode !== 200) {
        res.body.resume();
        throw new JwksError('http_error', `HTTP ${res.statusCode}`);
      }
      const declared = Number(res.headers['content-length']);
      if (declared > MAX_JWKS_BYTES) {
        res.body.destroy();
        throw new JwksError('too_large', `content-length ${declared} exceeds ${MAX_JWKS_BYTES}`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_JWKS_BYTES) {
          res.body.destroy();
          throw new JwksError('too_large', `body exceeds ${MAX_JWKS_BYTES} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
      let doc: unknown;
      try {
        doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        throw new JwksError('invalid', 'body is not JSON');
      }
      return parseJwks(doc, o.algorithms);
    } catch (err) {
      if (ac.signal.aborted) throw ac.signal.reason instanceof JwksError ? ac.signal.reason : new JwksError('timeout', 'aborted');
      if (err instanceof JwksError) throw err;
      throw new JwksError('network_error', (err as Error).message ?? String(err), { cause: err });
    } finally {
      o.clock.clearTimeout(timer);
      if (this.#abort === ac) this.#abort = undefined;
    }
  }

  #onSuccess({ set, skipped }: { set: KeySet; skipped: string[] }): void {
    const o = this.#o;
    this.#inflight = undefined;
    if (this.#closed) return;
    const prev = this.#set;
    this.#set = prev ? prev.replaceWith(set) : set;
    this.#fetchedAt = o.clock.now();
    this.#failures = 0;
    jwtMetrics.jwksFetches.labels(o.provider, 'ok').inc();
    jwtMetrics.jwksKeys.labels(o.provider).set(this.#set.keys.length);
    jwtMetrics.jwksStale.labels(o.provider).set(0);
    if (skipped.length > 0) o.logger.warn({ provider: o.provider, url: this.#logUrl, skipped }, 'JWKS keys skipped');
    if (prev) {
      const removed = prev.keys.filter((k) => k.revoked).map((k) => k.kid ?? '(no kid)');
      const before = new Set(prev.keys);
      const added = this.#set.keys.filter((k) => !before.has(k)).map((k) => k.kid ?? '(no kid)');
      if (removed.length > 0 || added.length > 0) o.logger.info({ provider: o.provider, added, removed }, 'JWKS rotated');
    }
    this.#schedule(Math.max(1, Math.floor(o.cacheTtlMs * 0.8)));
  }

  #onFailure(err: unknown): void {
    const o = this.#o;
    this.#inflight = undefined;
    if (this.#closed) return;
    this.#failures++;
    const result = err instanceof JwksError ? err.result : 'network_error';
    jwtMetrics.jwksFetches.labels(o.provider, result).inc();
    const stale = this.#set !== undefined && o.clock.now() - this.#fetchedAt > o.cacheTtlMs;
    jwtMetrics.jwksStale.labels(o.provider).set(stale ? 1 : 0);
    o.logger.warn(
      { provider: o.provider, url: this.#logUrl, result, reason: (err as Error)?.message, failures: this.#failures, keptKeys: this.#set?.keys.length ?? 0 },
      this.#set ? 'JWKS fetch failed; keeping the current key set' : 'JWKS fetch failed; no keys loaded yet',
    );
    const backoff = Math.min(FIRST_RETRY_MS * 2 ** Math.min(this.#failures - 1, 16), MAX_RETRY_MS, Math.max(1, Math.floor(o.cacheTtlMs * 0.8)));
    this.#schedule(backoff);
  }

  #schedule(ms: number): void {
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.refresh();
    }, ms);
  }
}
