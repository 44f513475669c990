import type { RateLimitRuleConfig } from './types.ts';
import { parseDuration } from '../../util/duration.ts';
import { takeTokenInto, type BucketPolicy, type BucketDecision } from './bucket.ts';
import { compileKeyReader, describeKey, clientAddress, type KeyReader, type RateLimitSubject } from './key.ts';
import type { LimitCounters, RateLimitStates } from './counters.ts';
import { RateLimitRule } from '../../config/schema/rate-limit.ts';
import { defaultsOf } from '../../config/schema/defaults.ts';
import type { Clock } from '../../util/clock.ts';
import { Refusal, type RefusalTarget } from './refusal.ts';

const RULE = defaultsOf(RateLimitRule, ['whenKeyMissing', 'maxKeys', 'responseHeaders']);

interface CompiledLimit {
  readonly name: string;
  readonly policy: BucketPolicy;
  readonly read: KeyReader;
  readonly whenKeyMissing: 'client-address' | 'shared' | 'skip';
  readonly counters: LimitCounters;
  /** `RateLimit-Policy` value: the bucket size per the time it takes to refill. */
  readonly policyHeader: string;
  readonly responseHeaders: boolean;
  readonly refusal: Refusal;
  /** This limit's decision for the request being checked (reused: check() runs to completion without yielding). */
  readonly decision: BucketDecision;
}

/** A limit's answer for one request; `headers` are flat name/value pairs for the response. */
export interface RateLimitVerdict {
  readonly allowed: boolean;
  /** The limit that refused (or the tightest one that passed). */
  readonly limit: string;
  readonly headers: string[];
}

/** Keys that can't collide with a header or cookie value. */
const ADDRESS_PREFIX = '\u0000addr:';
const SHARED_KEY = '\u0000shared';

/**
 * The rate limits of one route, compiled once per snapshot over counters that
 * outlive it. `check` takes a token from every limit or from none: a request
 * refused by one limit does not spend the others' tokens.
 */
export class RouteRateLimiter {
  /** A limit keyed by a JWT claim runs after authentication; otherwise before it, so a flood costs no signature checks. */
  readonly needsClaims: boolean;
  readonly #limits: readonly CompiledLimit[];
  readonly #clock: Clock;
  readonly #anyResponseHeaders: boolean;
  readonly #decisions: (BucketDecision | null)[];
  readonly #keys: (string | null)[];
  readonly #headRefusal: HeadRefusal;

  constructor(route: string, rules: readonly RateLimitRuleConfig[], states: RateLimitStates) {
    this.#clock = states.clock;
    this.#limits = rules.map((r) => {
      const name = r.name ?? describeKey(r.key);
      const interval = parseDuration(r.per) / r.requests;
      const burst = r.burst ?? r.requests;
      const policyHeader = `${burst};w=${Math.max(1, Math.ceil((burst * interval) / 1000))}`;
      return {
        name,
        policy: { interval, burst },
        read: compileKeyReader(r.key),
        whenKeyMissing: r.whenKeyMissing ?? RULE.whenKeyMissing,
        counters: states.counters(`${route}\u0000${name}`, r.maxKeys ?? RULE.maxKeys),
        policyHeader,
        responseHeaders: r.responseHeaders ?? RULE.responseHeaders,
        refusal: new Refusal(route, name, burst, policyHeader),
        decision: { allowed: false, tat: 0, remaining: 0, retryAfterMs: 0, resetMs: 0 },
      };
    });
    this.#anyResponseHeaders = this.#limits.some((l) => l.responseHeaders);
    this.needsClaims = rules.some((r) => 'claim' in r.key);
    this.#decisions = this.#limits.map(() => null);
    this.#keys = this.#limits.map(() => null);
    this.#headRefusal = { kind: 'refused', refusal: this.#limits[0]?.refusal as Refusal, limit: '', retryAfterSec: 0, resetSec: 0 };
  }

  /** Takes the request's tokens; null when it passes and no limit wants headers on passing responses. */
  check(subject: RateLimitSubject): RateLimitVerdict | null {
    const refused = this.#decide(subject);
    if (refused >= 0) {
      const l = this.#limits[refused]!;
      const d = this.#decisions[refused]!;
      return { allowed: false, limit: l.name, headers: ['retry-after', String(retryAfterSec(d)), ...limitHeaders(l, d)] };
    }
    return this.#admit();
  }

  /**
   * check() for an HTTP/1.1 request whose refusal needs nothing of the
   * exchange (no access log line, not gRPC): a refused request is answered
   * here with the limit's precomputed 429 and REFUSED returned, before the
   * gateway does any other work for it.
   */
  checkOrRefuse(subject: RateLimitSubject, res: RefusalTarget, requestId: (headers: RateLimitSubject['headers']) => string): RateLimitVerdict | null | typeof REFUSED {
    const refused = this.#decide(subject);
    if (refused < 0) return this.#admit();
    const d = this.#decisions[refused]!;
    this.#limits[refused]!.refusal.write(res, requestId(subject.headers), retryAfterSec(d), Math.max(0, Math.ceil(d.resetMs / 1000)));
    return REFUSED;
  }

  /**
   * check() for an answer written from the request head alone (the native
   * engine, src/edge/rate-limit/head-refusal.ts): a refusal is returned as the
   * refusing limit's prepared 429 and its timing, for the caller to write and
   * count; passing requests take their tokens as in check().
   */
  checkForHead(subject: RateLimitSubject): RateLimitVerdict | null | HeadRefusal {
    const refused = this.#decide(subject);
    if (refused < 0) return this.#admit();
    const d = this.#decisions[refused]!;
    // One reused answer per route: the caller writes it before the next request is looked at.
    const out = this.#headRefusal;
    out.refusal = this.#limits[refused]!.refusal;
    out.limit = this.#limits[refused]!.name;
    out.retryAfterSec = retryAfterSec(d);
    out.resetSec = Math.max(0, Math.ceil(d.resetMs / 1000));
    return out;
  }

  /** Fills the scratch arrays; the index of the refusing limit (the one with the longest wait), or -1. */
  #decide(subject: RateLimitSubject): number {
    const now = this.#clock.now();
    const limits = this.#limits;
    // Scratch arrays are reused: check() runs to completion without yielding.
    const decisions = this.#decisions;
    const keys = this.#keys;
    let refused = -1;
    for (let i = 0; i < limits.length; i++) {
      const l = limits[i]!;
      const key = keyFor(l, subject);
      keys[i] = key;
      if (key === null) {
        decisions[i] = null;
        continue;
      }
      const d = takeTokenInto(l.policy, l.counters.tats.get(key), now, l.decision);
      decisions[i] = d;
      if (!d.allowed && (refused < 0 || d.retryAfterMs > decisions[refused]!.retryAfterMs)) refused = i;
    }
    return refused;
  }

  /** Every limit passed: store the tokens taken; the tightest limit's headers when one sends them on passing responses. */
  #admit(): RateLimitVerdict | null {
    const limits = this.#limits;
    const decisions = this.#decisions;
    const keys = this.#keys;
    let tightest = -1;
    for (let i = 0; i < limits.length; i++) {
      const d = decisions[i];
      if (d == null) continue;
      limits[i]!.counters.tats.set(keys[i]!, d.tat);
      if (limits[i]!.responseHeaders && (tightest < 0 || d.remaining < decisions[tightest]!.remaining)) tightest = i;
    }
    if (!this.#anyResponseHeaders || tightest < 0) return null;
    return { allowed: true, limit: limits[tightest]!.name, headers: limitHeaders(limits[tightest]!, decisions[tightest]!) };
  }
}

/** A refusal left to the caller by checkForHead: the limit's prepared 429 and the values that change per request. */
export interface HeadRefusal {
  readonly kind: 'refused';
  refusal: Refusal;
  limit: string;
  retryAfterSec: number;
  resetSec: number;
}

/** What checkOrRefuse returns when it has answered the request with a 429. */
export const REFUSED = Symbol('edgeplane.rate-limited');

/** Whole seconds until a token is back, at least 1 (Retry-After). */
function retryAfterSec(d: BucketDecision): number {
  return Math.max(1, Math.ceil(d.retryAfterMs / 1000));
}

function keyFor(l: CompiledLimit, s: RateLimitSubject): string | null {
  const key = l.read(s);
  if (key !== undefined) return key;
  switch (l.whenKeyMissing) {
    case 'skip':
      return null;
    case 'shared':
      return SHARED_KEY;
    default: {
      const address = clientAddress(s.clientAddress);
      return address === undefined ? SHARED_KEY : ADDRESS_PREFIX + address;
    }
  }
}

/** Field names of draft-ietf-httpapi-ratelimit-headers-03 (Envoy sends the same with an X- prefix); Reset = seconds until the bucket is full. */
function limitHeaders(l: CompiledLimit, d: BucketDecision): string[] {
  return [
    'ratelimit-limit', String(l.policy.burst),
    'ratelimit-remaining', String(d.remaining),
    'ratelimit-reset', String(Math.max(0, Math.ceil(d.resetMs / 1000))),
    'ratelimit-policy', l.policyHeader,
  ];
}
