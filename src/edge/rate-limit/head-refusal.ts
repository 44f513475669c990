import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { requestIds } from '../request-id.ts';
import type { EdgeTable, CompiledRoute } from '../compile.ts';
import type { AccessLog } from '../access-log/index.ts';
import type { RequestHead } from '../http1/request-parser.ts';
import { NativeRequest } from '../http1/messages.ts';
import { prepareRequest, routeAcceptsEscapedSlash, type PreparedRequest, type RequestPolicy } from '../normalize.ts';
import { isValidRequestId } from '../http-util.ts';
import type { RateLimitSubject } from './key.ts';
import type { HeadRefusal } from './route-limiter.ts';

/** The routing of a request the head check let through, kept for the proxy's handle() that follows. */
export interface HeadRouting {
  /** The head's field array: handle() knows its request by it (the native request keeps the same array). */
  readonly rawHeaders: string[];
  readonly prepared: PreparedRequest;
  readonly route: CompiledRoute;
  /** The route's limits already taken: their passing headers (null: none); undefined: not taken (claim-keyed limits). */
  readonly limits: string[] | null | undefined;
}

/**
 * The native engine's rate-limit refusal, decided from a parsed request head
 * before the connection builds the request and response objects an exchange
 * uses: route, take the tokens, and when a limit refuses return the limit's
 * prepared 429 (Refusal.wire) for the connection to write in one socket
 * write, counted and logged as the exchange's error path would. A request
 * that passes is not routed twice: its routing waits in `take()` for the
 * handle() call the connection makes next, in the same tick.
 *
 * Only tables with a rate-limited route get here (EdgeTable.rateLimited);
 * requests with a body, Upgrade requests and HTTP/2 never do.
 */
export class HeadRefusals {
  #routed: HeadRouting | null = null;
  readonly #subject = new HeadSubject();

  /** The whole 429 to write, or null: serve the request as usual (routing kept for take() when it matched). */
  answer(table: EdgeTable, head: RequestHead, socket: Socket, keepAlive: boolean, policy: RequestPolicy, log: AccessLog | null): string | null {
    this.#routed = null;
    try {
      return this.#answer(table, head, socket, keepAlive, policy, log);
    } catch {
      // Whatever failed here fails again in handle(), which answers 500 and logs it: the connection must not see a throw.
      this.#routed = null;
      return null;
    } finally {
      // The reused subject must not keep the last request's socket alive after it closes.
      this.#subject.reset(null, null);
    }
  }

  #answer(table: EdgeTable, head: RequestHead, socket: Socket, keepAlive: boolean, policy: RequestPolicy, log: AccessLog | null): string | null {
    const prepared = prepareRequest(head.url, null, head.rawHeaders, policy);
    // Refusals of the request itself (400, 404, 431...) are the exchange's to answer: it routes again.
    if (!prepared.ok) return null;
    const subject = this.#subject;
    subject.reset(head, socket);
    const route = table.routes.match(prepared.host, prepared.path, head.method, subject.header);
    if (route === undefined || !routeAcceptsEscapedSlash(prepared, route.escapedSlashes, policy)) return null;
    const rl = route.rateLimit;
    let limits: string[] | null | undefined;
    if (rl !== null && !rl.needsClaims) {
      const v = rl.checkForHead(subject);
      if (v !== null && 'kind' in v) return refuse(v, route, prepared, head, socket, keepAlive, subject, log);
      limits = v === null ? null : v.headers;
    }
    this.#routed = { rawHeaders: head.rawHeaders, prepared, route, limits };
    return null;
  }

  /** The routing answer() kept for this request (by its field array), once. */
  take(rawHeaders: string[]): HeadRouting | null {
    const r = this.#routed;
    if (r === null || r.rawHeaders !== rawHeaders) return null;
    this.#routed = null;
    return r;
  }
}

function refuse(v: HeadRefusal, route: CompiledRoute, prepared: PreparedRequest, head: RequestHead, socket: Socket, keepAlive: boolean, subject: HeadSubject, log: AccessLog | null): string {
  const started = log === null ? 0 : performance.now();
  const requestId = requestIdOf(head.rawHeaders);
  const connection = !keepAlive ? 'close' : head.versionMinor === 0 ? 'http10-keep-alive' : 'keep-alive';
  const wire = v.refusal.wire(requestId, v.retryAfterSec, v.resetSec, connection, head.method === 'HEAD');
  v.refusal.count();
  if (log !== null && log.sampled(429)) {
    const h = subject.headers;
    const tls = (socket as TLSSocket).encrypted === true;
    const len = h['content-length'];
    const now = performance.now();
    log.write({
      startedAt: Date.now() - (now - started),
      clientAddress: socket.remoteAddress ?? '',
      method: head.method,
      authority: prepared.authority,
      path: head.url,
      protocol: head.versionMinor === 1 ? 'HTTP/1.1' : 'HTTP/1.0',
      status: 429,
      bytesIn: typeof len === 'string' ? Number(len) || 0 : 0,
      bytesOut: v.refusal.bodyBytes(requestId),
      userAgent: h['user-agent'] as string | undefined,
      referer: h.referer as string | undefined,
      route: route.name,
      cluster: undefined,
      endpoint: undefined,
      attempts: 0,
      upstreamConnectMs: -1,
      upstreamResponseMs: -1,
      totalMs: now - started,
      requestId,
      tlsVersion: tls ? ((socket as TLSSocket).getProtocol() ?? undefined) : undefined,
      sni: tls && typeof (socket as TLSSocket).servername === 'string' ? ((socket as TLSSocket).servername as string) : undefined,
      jwtSubject: undefined,
      error: 'rate_limited',
    });
  }
  return wire;
}

/** What routing and the limits read of a head: the client address, and header values only when a route or key asks (the header object is built then). */
class HeadSubject implements RateLimitSubject {
  #head: RequestHead | null = null;
  #socket: Socket | null = null;
  #headers: Record<string, string | string[]> | null = null;
  readonly claims = undefined;
  /** The route table's header getter, bound once. */
  readonly header = (name: string): string | undefined => {
    const v = this.headers[name];
    return Array.isArray(v) ? v.join(',') : v;
  };

  reset(head: RequestHead | null, socket: Socket | null): void {
    this.#head = head;
    this.#socket = socket;
    this.#headers = null;
  }

  get headers(): Record<string, string | string[]> {
    // The same header object (node:http's joining rules) the exchange reads on the native engine.
    return (this.#headers ??= new NativeRequest(this.#head!, this.#socket!).headers);
  }

  get clientAddress(): string | undefined {
    return this.#socket!.remoteAddress;
  }
}

/** X-Request-Id as the exchange takes it (a repeated field joins with ', ', which no valid id has), else a new one. */
function requestIdOf(raw: readonly string[]): string {
  let found: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 12 && name.toLowerCase() === 'x-request-id') found = found === undefined ? raw[i + 1]! : `${found}, ${raw[i + 1]!}`;
  }
  return found !== undefined && isValidRequestId(found) ? found : requestIds.next();
}
