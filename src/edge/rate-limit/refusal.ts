import { edgeMetrics } from '../../metrics/edge.ts';

/** What a 429 is written to: the part of ServerResponse / NativeResponse an HTTP/1.1 answer needs. */
export interface RefusalTarget {
  writeHead(status: number, headers: string[]): unknown;
  end(body: string): unknown;
}

/** How the connection goes on after a prepared 429 (the native engine frames it itself). */
export type RefusalConnection = 'keep-alive' | 'close' | 'http10-keep-alive';

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
  /** The native engine's whole head up to the fields that change per request (status line and the constant fields). */
  readonly #wireHead: string;
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
    // Only digits and ';w=' come from the config here (burst and window are numbers): nothing can split the head.
    this.#wireHead = `HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncache-control: no-store\r\nratelimit-limit: ${burst}\r\nratelimit-remaining: 0\r\nratelimit-policy: ${policy}\r\n`;
  }

  /** Writes the 429 and counts it (edgeplane_rate_limited_total, edgeplane_requests_total{code="429"}). */
  write(res: RefusalTarget, requestId: string, retryAfterSec: number, resetSec: number): void {
    const f = this.#fields;
    f[3] = String(this.bodyBytes(requestId));
    f[7] = requestId;
    f[9] = String(retryAfterSec);
    f[15] = String(resetSec);
    res.writeHead(429, f);
    res.end(`${this.#bodyHead}${requestId}"}`);
    this.count();
  }

  /**
   * The whole HTTP/1.1 429 as one string for one socket write (the native
   * engine's answer from a request head): the prepared head with only the
   * request id, the timing and the length formatted, then the body (none for
   * HEAD). UTF-8 on the wire: the body may name a route in any script.
   */
  wire(requestId: string, retryAfterSec: number, resetSec: number, connection: RefusalConnection, head: boolean): string {
    const framing = connection === 'keep-alive' ? '\r\n' : connection === 'close' ? 'connection: close\r\n\r\n' : 'connection: keep-alive\r\n\r\n';
    const fields = `${this.#wireHead}content-length: ${this.bodyBytes(requestId)}\r\nx-request-id: ${requestId}\r\nretry-after: ${retryAfterSec}\r\nratelimit-reset: ${resetSec}\r\n${framing}`;
    return head ? fields : `${fields}${this.#bodyHead}${requestId}"}`;
  }

  /** Bytes of the JSON body for this request id. */
  bodyBytes(requestId: string): number {
    return this.#bodyHeadBytes + requestId.length + 2;
  }

  /** Counts one refusal (edgeplane_rate_limited_total, edgeplane_requests_total{code="429"}), as the exchange's error path does. */
  count(): void {
    (this.#limited ??= edgeMetrics.rateLimited.labels(this.#route, this.#limit)).inc();
    (this.#requests ??= edgeMetrics.requests.labels(this.#route, '', '429')).inc();
  }
}
