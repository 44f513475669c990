import { Agent } from 'undici';
import type { JwtConfig, RouteConfig } from '../../config/schema/index.ts';
import { checkProvider, normalizeRouteAuth, providerOutputHeaders } from './config-check.ts';
import type { RawIssue } from '../../config/issue.ts';
import { formatPath } from '../../config/source.ts';
import { systemClock, type Clock } from '../../util/clock.ts';
import { ConfigError } from '../../util/errors.ts';
import { silentLogger, type Logger } from '../../util/logger.ts';
import { failureOutcome, type FailureOutcome, type JwtVerifyError } from './errors.ts';
import { headerObject, removeCookie, removeQueryParam, removeProtocol, type HeaderInput, type TokenLocation } from './extract.ts';
import { DEFAULT_JWKS_TIMEOUT_MS, Provider } from './provider.ts';
import { AuthRequirement, buildEntry, checkEntry, removalsFor, type EntryResult, type RequirementEntry } from './requirement.ts';
import { TokenCache } from './token-cache.ts';
import { Jwt } from '../../config/schema/jwt.ts';
import { defaultsOf } from '../../config/schema/defaults.ts';

const JWT = defaultsOf(Jwt, ['realm']);
const CACHE = defaultsOf(Jwt.properties.cache, ['enabled', 'maxEntries']);

export { AuthRequirement } from './requirement.ts';
export { JwtVerifyError, JwksError, type JwtResult } from './errors.ts';
export type { HeaderInput, RequestHeaders } from './extract.ts';

export type AuthOutcome =
  | { ok: true; setHeaders: [name: string, value: string][]; removeHeaders: string[]; url?: string /* when a query token was stripped */; claims?: Readonly<Record<string, unknown>> /* the (first) verified token's payload */ }
  | { ok: false; status: 401 | 403; headers: Record<string, string> /* WWW-Authenticate */; body: string /* JSON */ };

export interface JwtAuthenticatorOptions {
  /** Directory that relative key file paths are resolved against (the config file's). */
  baseDir: string;
  clock?: Clock;
  logger?: Logger;
  /** Overrides `jwt.cache` from the config (benchmarks turn it off). */
  cache?: { maxEntries?: number; enabled?: boolean };
}

type OkOutcome = Extract<AuthOutcome, { ok: true }>;
type OkEntry = Extract<EntryResult, { ok: true }>;
type FailedEntry = Extract<EntryResult, { ok: false }>;

const EMPTY: [string, string][] = Object.freeze([]) as unknown as [string, string][];

/**
 * JWT authentication for the data plane. Built once per JWT config; routes'
 * `auth` blocks are compiled into AuthRequirements once per snapshot.
 * `authenticate` answers synchronously whenever no signature has to be
 * checked (cache hit, missing or malformed token), so the common case costs
 * a hash and a map lookup. Outcome arrays are shared: callers must not mutate them.
 */
export class JwtAuthenticator {
  readonly #providers = new Map<string, Provider>();
  readonly #realm: string;
  readonly #cache: TokenCache | undefined;
  readonly #dispatcher: Agent | undefined;
  readonly #failures = new Map<string, FailureOutcome>();
  readonly #noAuth: AuthRequirement;
  readonly #anonymous = new WeakMap<AuthRequirement, OkOutcome>();

  constructor(config: JwtConfig | undefined, options: JwtAuthenticatorOptions) {
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? silentLogger;
    this.#realm = config?.realm ?? JWT.realm;
    const cacheOptions = { ...config?.cache, ...options.cache };
    this.#cache = (cacheOptions.enabled ?? CACHE.enabled) ? new TokenCache(cacheOptions.maxEntries ?? CACHE.maxEntries) : undefined;
    const providers = config?.providers ?? [];
    // Validated here too: the authenticator may be built from config that never went through the loader.
    const raw: RawIssue[] = [];
    providers.forEach((p, i) => checkProvider(p, ['jwt', 'providers', i], raw));
    const issues = raw.map((r) => ({ path: formatPath(r.path), message: r.message }));
    const names = new Set<string>();
    providers.forEach((p, i) => {
      if (names.has(p.name)) issues.push({ path: `jwt.providers[${i}].name`, message: `duplicate JWT provider name "${p.name}"` });
      names.add(p.name);
    });
    if (issues.length > 0) throw new ConfigError(issues);
    this.#dispatcher = providers.some((p) => p.jwks?.url !== undefined)
      ? new Agent({ connections: 4, connect: { timeout: DEFAULT_JWKS_TIMEOUT_MS } })
      : undefined;
    providers.forEach((p, i) => {
      try {
        this.#providers.set(p.name, new Provider(p, i, { baseDir: options.baseDir, clock, logger, cache: this.#cache, dispatcher: this.#dispatcher }));
      } catch (err) {
        issues.push({ path: `jwt.providers[${i}]`, message: (err as Error).message });
      }
    });
    if (issues.length > 0) {
      this.close();
      throw new ConfigError(issues);
    }
    // Routes without auth still never pass a client's own claim headers upstream.
    const all = [...new Set(providers.flatMap((p) => providerOutputHeaders(p)))];
    this.#noAuth = new AuthRequirement(this, 'none', true, [], all);
  }

  /** Header names the authenticator sets from claims: every route strips client-sent copies of them. */
  protectedHeaders(): readonly string[] {
    return this.#noAuth.antiSpoof;
  }

  /** Compiles a route's `auth` once per snapshot; throws ConfigError for unknown providers. */
  compile(auth: RouteConfig['auth']): AuthRequirement {
    if (auth === undefined) return this.#noAuth;
    const norm = normalizeRouteAuth(auth);
    const issues = norm.refs.filter((r) => !this.#providers.has(r.provider)).map((r) => ({ path: formatPath(['auth', ...r.path]), message: `unknown JWT provider "${r.provider}"` }));
    if (issues.length > 0) throw new ConfigError(issues);
    const providers = norm.refs.map((r) => this.#providers.get(r.provider)!);
    const antiSpoof = [...new Set(providers.flatMap((p) => p.outputHeaders))];
    const entries = norm.refs.map((r, i) => buildEntry(providers[i]!, r.scopes, r.claims, antiSpoof));
    return new AuthRequirement(this, norm.mode, norm.optional, entries, antiSpoof);
  }

  /**
   * `headers`: the request itself (its raw fields are read for a header token, so the native engine builds no
   * header object) or a header object. `from`: token locations the route sets for this request (WebSocket
   * `tokenFrom`), instead of each provider's own.
   */
  authenticate(requirement: AuthRequirement, headers: HeaderInput, url: string, from?: readonly TokenLocation[]): AuthOutcome | Promise<AuthOutcome> {
    // A requirement compiled by an earlier authenticator (config reload, request in flight) is answered by it.
    if (requirement.owner !== this) return (requirement.owner as JwtAuthenticator).authenticate(requirement, headers, url, from);
    try {
      return this.#authenticate(requirement, headers, url, from);
    } catch (err) {
      // Never thrown at the caller's request handler: an internal error becomes a rejected
      // Promise, which the proxy answers with 500 and logs (it is not the client's fault, so not 401).
      return Promise.reject(err);
    }
  }

  #authenticate(requirement: AuthRequirement, headers: HeaderInput, url: string, from: readonly TokenLocation[] | undefined): AuthOutcome | Promise<AuthOutcome> {
    const entries = requirement.entries;
    if (entries.length === 0) return this.#anonymousOutcome(requirement);
    if (entries.length === 1) {
      const r = checkEntry(entries[0]!, headers, url, from);
      if (r instanceof Promise) return r.then((x) => this.#finishOne(requirement, x, headers, url));
      return this.#finishOne(requirement, r, headers, url);
    }
    const results: (EntryResult | Promise<EntryResult>)[] = [];
    let pending = false;
    for (const entry of entries) {
      const r = checkEntry(entry, headers, url, from);
      if (r instanceof Promise) pending = true;
      else if (r.ok && requirement.mode === 'any') {
        // Verifications still running for earlier providers are no longer awaited: keep their failures from going unhandled.
        for (const other of results) if (other instanceof Promise) other.catch(() => {});
        return this.#finishOne(requirement, r, headers, url);
      }
      results.push(r);
    }
    if (!pending) return this.#finishMany(requirement, results as EntryResult[], headers, url);
    return Promise.all(results).then((rs) => this.#finishMany(requirement, rs, headers, url));
  }

  /** Fetches every remote JWKS once (failures are logged and retried in the background, never thrown). */
  async start(): Promise<void> {
    await Promise.all([...this.#providers.values()].map((p) => p.start()));
  }

  /** Resolves once no JWKS fetch is in flight (a hanging one is bounded by its timeout). */
  async whenIdle(): Promise<void> {
    await Promise.all([...this.#providers.values()].map((p) => p.whenIdle()));
  }

  close(): void {
    for (const p of this.#providers.values()) p.close();
    void this.#dispatcher?.close().catch(() => {});
    this.#cache?.clear();
  }

  #finishOne(req: AuthRequirement, r: EntryResult, headers: HeaderInput, url: string): AuthOutcome {
    if (r.ok) {
      r.entry.provider.counters.add('ok');
      return this.#success([r], headers, url);
    }
    return this.#fail(req, r, 0);
  }

  #finishMany(req: AuthRequirement, rs: EntryResult[], headers: HeaderInput, url: string): AuthOutcome {
    if (req.mode === 'any') {
      for (const r of rs) if (r.ok) return this.#finishOne(req, r, headers, url);
      // Nothing accepted: answer with the failure closest to success.
      const chosen = pick(rs as FailedEntry[], ['forbidden', 'invalid']);
      return this.#fail(req, chosen, rs.indexOf(chosen));
    }
    const oks = rs.filter((r): r is OkEntry => r.ok);
    if (oks.length === rs.length) {
      for (const r of oks) r.entry.provider.counters.add('ok');
      return this.#success(oks, headers, url);
    }
    const failed = rs.filter((r): r is FailedEntry => !r.ok);
    if (req.optional && failed.length === rs.length && failed.every((r) => r.absent)) return this.#fail(req, failed[0]!, 0);
    // All of: the most fundamental problem first (a bad token, then a missing one, then scope).
    const bad = failed.find((r) => !r.absent && r.error.kind === 'invalid') ?? failed.find((r) => r.absent) ?? failed[0]!;
    return this.#fail(req, bad, rs.indexOf(bad));
  }

  /** A failed (or absent) entry as the request's answer; an optional route lets a request without any token through. */
  #fail(req: AuthRequirement, r: FailedEntry, index: number): AuthOutcome {
    const entry = req.entries[Math.max(0, index)]!;
    if (r.absent && req.optional) {
      entry.provider.counters.add('optional_missing');
      return this.#anonymousOutcome(req);
    }
    entry.provider.counters.add(r.error.result);
    return this.#failureOutcome(r.error);
  }

  #anonymousOutcome(req: AuthRequirement): OkOutcome {
    let o = this.#anonymous.get(req);
    if (o === undefined) {
      o = Object.freeze({ ok: true as const, setHeaders: EMPTY, removeHeaders: req.antiSpoof as string[] });
      this.#anonymous.set(req, o);
    }
    return o;
  }

  #success(oks: OkEntry[], headers: HeaderInput, url: string): OkOutcome {
    if (oks.length === 1) {
      const { token, location, entry } = oks[0]!;
      const removeHeaders = removeList(entry, location);
      if (entry.provider.forward || location.kind === 'header') return { ok: true, setHeaders: token.setHeaders, removeHeaders, claims: token.payload };
    }
    // Cookie or query tokens being stripped, or several tokens (all of): assemble per request.
    const setHeaders: [string, string][] = [];
    const remove = new Set<string>();
    const fields = headerObject(headers);
    let cookie = typeof fields.cookie === 'string' ? fields.cookie : undefined;
    let cookieTouched = false;
    let newUrl: string | undefined;
    for (const { token, location, entry } of oks) {
      for (const h of token.setHeaders) setHeaders.push(h);
      for (const h of removeList(entry, location)) remove.add(h);
      if (entry.provider.forward) continue;
      if (location.kind === 'cookie' && cookie !== undefined) {
        cookie = removeCookie(cookie, location.name);
        cookieTouched = true;
      } else if (location.kind === 'query') {
        newUrl = removeQueryParam(newUrl ?? url, location.name);
      } else if (location.kind === 'protocol') {
        // The token's entry is dropped; the subprotocols the upstream chooses from go on.
        const offered = fields['sec-websocket-protocol'];
        const rest = offered === undefined ? undefined : removeProtocol(offered, location.name);
        remove.add('sec-websocket-protocol');
        if (rest !== undefined) setHeaders.push(['sec-websocket-protocol', rest]);
      }
    }
    if (cookieTouched && cookie !== undefined) setHeaders.push(['cookie', cookie]);
    const outcome: OkOutcome = { ok: true, setHeaders, removeHeaders: [...remove], claims: oks[0]!.token.payload };
    if (newUrl !== undefined) outcome.url = newUrl;
    return outcome;
  }

  #failureOutcome(err: JwtVerifyError): FailureOutcome {
    const key = `${err.kind}|${err.description}|${err.scope ?? ''}`;
    let o = this.#failures.get(key);
    if (o === undefined) {
      o = failureOutcome(this.#realm, err);
      // The key space is fixed text plus config values; the bound is a guard, not a policy.
      if (this.#failures.size < 1000) this.#failures.set(key, o);
    }
    return o;
  }
}

/** Headers to drop for a token found at `location` (a route's own locations are not precomputed). */
function removeList(entry: RequirementEntry, location: TokenLocation): string[] {
  return entry.removeFor.get(location) ?? removalsFor(entry.provider, location, entry.antiSpoof);
}

/** The first failed, present-token result of the preferred kinds, else the first result. */
function pick(rs: FailedEntry[], kinds: ('forbidden' | 'invalid')[]): FailedEntry {
  for (const kind of kinds) {
    const r = rs.find((x) => !x.absent && x.error.kind === kind);
    if (r) return r;
  }
  return rs[0]!;
}
