import { edgeMetrics } from '../../metrics/edge.ts';

/** What a 429 is written to: the part of ServerResponse / NativeResponse an HTTP/1.1 answer needs. */
export interface RefusalTarget {
  writeHead(status: number, headers: string[]): unknown;
  end(body: string): unknown;
}

/**
 * The 429 of one limit of one route, built once per snapshot: a refused
 * request only fills in its request id and the bucket's timing (the fields
 * of the head are in one reused array; node:http and the native engine both
 * serialise a head before writeHead returns), and counts in child counters
 * looked up once. The same status, fields and body as the general error path.
 */
export class Refusal {
  readonly #fields: string[];
  readonly #bodyHead: string;
  readonly #bodyHeadBytes: number;
  readonly #route: string;
  readonly #limit: string;
  #limited: { inc(): void } | null = null;
  #requests: { inc(): void } | null = null;

  constructor(route: string, limit: string, burst: number, policy: string) {
    this.#route = route;
    this.#limit = limit;
    const head = JSON.stringify({ error: 'rate_limited', message: `too many requests (limit "${limit}")`, route, requestId: '' });
    // Everything up to the request id's closing quote; request ids are printable ASCII without quotes (isValidRequestId, UUIDs).
    this.#bodyHead = head.slice(0, -2);
    this.#bodyHeadBytes = Buffer.byteLength(this.#bodyHead);
    this.#fields = [
      'content-type', 'application/json',
      'content-length', '',
      'cache-control', 'no-store',
      'x-request-id', '',
      'retry-after', '',
      'ratelimit-limit', String(burst),
      'ratelimit-remaining', '0',
      'ratelimit-reset', '',
      'ratelimit-policy', policy,
    ];
  }

  /** Writes the 429 and counts it (edgeplane_rate_limited_total, edgeplane_requests_total{code="429"}). */
  write(res: RefusalTarget, requestId: string, retryAfterSec: number, resetSec: number): void {
    const f = this.#fields;
    f[3] = String(this.#bodyHeadBytes + requestId.length + 2);
    f[7] = requestId;
    f[9] = String(retryAfterSec);
    f[15] = String(resetSec);
    res.writeHead(429, f);
    res.end(`${this.#bodyHead}${requestId}"}`);
    (this.#limited ??= edgeMetrics.rateLimited.labels(this.#route, this.#limit)).inc();
    (this.#requests ??= edgeMetrics.requests.labels(this.#route, '', '429')).inc();
  }
}
