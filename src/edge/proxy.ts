import type { IncomingMessage, ServerResponse, IncomingHttpHeaders } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Dispatcher } from 'undici';
import type { EdgeTable, CompiledRoute, RouteClusterStats } from './compile.ts';
import type { ClusterBreaker, Endpoint, EndpointDirectory, UpstreamOutcome } from '../health/types.ts';
import type { UpstreamPools } from './upstreams.ts';
import type { RequestAuthenticator, AuthOutcome } from './auth.ts';
import type { Logger } from '../util/logger.ts';
import type { TLSSocket } from 'node:tls';
import type { AccessLog, AccessLogs } from './access-log/index.ts';
import { edgeMetrics, setActiveRequestsSource } from '../metrics/edge.ts';
import { HOP_BY_HOP, connectionTokens, sendError, isValidRequestId, readCookie, nameLengths, mayBeIn } from './http-util.ts';
import { prepareRequest, routeAcceptsEscapedSlash, headerListSize, type PreparedRequest } from './normalize.ts';
import { DEFAULT_LISTENER_POLICY, type ListenerRequestPolicy } from './listener-policy.ts';
import { upstreamRequestHeaders, type UnderscoreAction } from './request-headers.ts';
import { isGrpcRequest, parseGrpcTimeout, grpcToHttpStatus, httpToGrpcStatus, encodeGrpcMessage } from './grpc.ts';
import { chooseCluster } from './cluster-choice.ts';
import { retriesFailure, canResend, withinRetryBudget } from './retry-policy.ts';
import { requestIds } from './request-id.ts';
import { REPLAY_LIMIT, GRPC_STATUS_FIELDS, findGrpcStatus, describeLocal, forwardTrailers } from './grpc-relay.ts';
import { deadlineList, type Deadline } from './deadline-list.ts';
import { REFUSED, HeadRefusals } from './rate-limit/index.ts';
import type { RequestHead } from './http1/request-parser.ts';
import type { ResponseHead } from './http1/response-head.ts';
import { forwardedFieldLines, forwardsLength } from './response-head.ts';
import type { Socket } from 'node:net';
import { classifyUpstreamError, UpstreamTimeoutError } from './upstream-errors.ts';

export type DownstreamRequest = IncomingMessage | Http2ServerRequest;
export type DownstreamResponse = ServerResponse | Http2ServerResponse;

export interface ProxyOptions {
  directory: EndpointDirectory;
  pools: UpstreamPools;
  logger: Logger;
  /** The access log in force (read per request, so a config apply can change it). */
  accessLog?: AccessLogs;
  auth?: RequestAuthenticator;
}

/** Circuit-breaker units an Exchange holds (bit flags), released when it completes. */
const HELD_REQUEST = 1;
const HELD_PENDING = 2;
const HELD_RETRY = 4;
/** Most header names (Content-Type, Date, User-Agent...) have a length no special name has: they skip toLowerCase(). */
const RESPONSE_SPECIAL_LENGTHS = nameLengths(HOP_BY_HOP);

/**
 * The request path: route match, auth, split, endpoint pick, undici dispatch,
 * response streaming, retries. One `Exchange` object per request doubles as
 * the undici dispatch handler, so a proxied request allocates little.
 */
export class Proxy {
  #table: EdgeTable | null = null;
  readonly #options: ProxyOptions;
  #inflight = 0;
  #idleWaiters: (() => void)[] = [];
  #availabilityByRoute = new WeakMap<CompiledRoute, (i: number) => boolean>();
  readonly #heads = new HeadRefusals();

  constructor(options: ProxyOptions) {
    this.#options = options;
  }

  /** Swaps the routing table; requests in flight keep the table they started with. */
  setTable(table: EdgeTable): void {
    this.#table = table;
    setActiveRequestsSource(() => [...table.clusters.values()].map((c) => [c.name, c.load.active]));
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** Resolves when no request is in flight (graceful drain). */
  whenIdle(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * The native engine's rate-limit refusal from a request head, before any
   * request/response object exists (docs/routing.md): the whole 429 to write,
   * or null, and then handle() takes the routing done here.
   */
  answerFromHead(head: RequestHead, socket: Socket, keepAlive: boolean, listener: ListenerRequestPolicy): string | null {
    const table = this.#table;
    if (table === null || !table.rateLimited) return null;
    return this.#heads.answer(table, head, socket, keepAlive, listener.request, this.#options.accessLog?.current ?? null);
  }

  /**
   * `listener` is the listener's request policy (path normalisation, header
   * limits, underscores); requests are canonicalised by it before routing.
   */
  handle(req: DownstreamRequest, res: DownstreamResponse, scheme: 'http' | 'https', listener: ListenerRequestPolicy = DEFAULT_LISTENER_POLICY): void {
    const table = this.#table;
    if (table === null) {
      sendError(res, 503, 'not_ready', 'the gateway has no configuration yet');
      return;
    }
    try {
      // req.headers is not read unless needed: on the native engine it is an object built on first use.
      const h2 = 'stream' in req;
      const routed = h2 ? null : this.#heads.take(req.rawHeaders);
      if (routed !== null) {
        const exchange = new Exchange(this, this.#options, table, routed.route, req, res, scheme, routed.prepared, req.method ?? 'GET', listener.underscores, routed.limits);
        this.#inflight++;
        exchange.start();
        return;
      }
      if (h2 && headerListSize(req.rawHeaders) > listener.maxHeaderSize) {
        edgeMetrics.clientErrors.labels('header_too_large').inc();
        sendError(res, 431, 'header_too_large', 'request header fields too large');
        return;
      }
      const pseudo = h2 ? ((req.headers[':authority'] as string | undefined) ?? null) : null;
      const prepared = prepareRequest(req.url ?? '/', pseudo, req.rawHeaders, listener.request);
      if (!prepared.ok) {
        edgeMetrics.clientErrors.labels(prepared.reason).inc();
        sendError(res, prepared.status, prepared.reason, prepared.message);
        return;
      }
      const host = prepared.host;
      const path = prepared.path;
      const method = req.method ?? 'GET';
      const route = table.routes.match(host, path, method, (name) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v.join(',') : v;
      });
      if (route === undefined) {
        sendError(res, 404, 'no_route', `no route for host "${host}" and path "${path}"`);
        return;
      }
      if (!routeAcceptsEscapedSlash(prepared, route.escapedSlashes, listener.request)) {
        edgeMetrics.clientErrors.labels('escaped_slash').inc();
        sendError(res, 400, 'escaped_slash', 'the path has an encoded "/" or "\\" (%2F, %5C)');
        return;
      }
      // A refusal that needs nothing of the exchange is answered before any of its work (docs/routing.md).
      let limits: string[] | null | undefined;
      const rl = route.rateLimit;
      if (rl !== null && !h2 && !rl.needsClaims && (this.#options.accessLog?.current ?? null) === null) {
        const v = rl.checkOrRefuse({ headers: req.headers, clientAddress: req.socket?.remoteAddress, claims: undefined }, res as ServerResponse, requestIdFromHeaders);
        if (v === REFUSED) return;
        limits = v === null ? null : v.headers;
      }
      const exchange = new Exchange(this, this.#options, table, route, req, res, scheme, prepared, method, listener.underscores, limits);
      this.#inflight++;
      exchange.start();
    } catch (err) {
      this.#options.logger.error({ err }, 'unexpected error while routing a request');
      if (!res.headersSent) sendError(res, 500, 'internal_error', 'unexpected gateway error');
      else res.destroy();
    }
  }

  /** The split's availability test for a route, built once per compiled route rather than per request. */
  availability(route: CompiledRoute): (i: number) => boolean {
    let fn = this.#availabilityByRoute.get(route);
    if (fn === undefined) {
      const directory = this.#options.directory;
      const targets = route.split.targets;
      fn = (i: number): boolean => {
        const target = directory.cluster(targets[i]!.name);
        return target !== undefined && target.available;
      };
      this.#availabilityByRoute.set(route, fn);
    }
    return fn;
  }

  /** Called by an Exchange exactly once when it is done. */
  finished(): void {
    this.#inflight--;
    if (this.#inflight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

class Exchange implements Dispatcher.DispatchHandler, Deadline {
  /** The route timeout's links in its DeadlineList (src/edge/deadline-list.ts): no Timeout per request. */
  deadlinePrev: Deadline | null = null;
  deadlineNext: Deadline | null = null;
  deadlineAt = -1;
  readonly #proxy: Proxy;
  readonly #opts: ProxyOptions;
  readonly #route: CompiledRoute;
  readonly #req: DownstreamRequest;
  readonly #res: DownstreamResponse;
  readonly #scheme: 'http' | 'https';
  /** Canonical host[:port] routing used. */
  readonly #authority: string;
  readonly #underscores: UnderscoreAction;
  readonly #method: string;
  readonly #start = performance.now();
  readonly #hasBody: boolean;
  #url: string;
  #stats: RouteClusterStats | null = null;
  #requestId = '';
  #setCookie: string | null = null;
  #upstreamHeaders: string[] | null = null;
  /** Pairs of #upstreamHeaders before this index need no CR/LF/NUL check (see #buildUpstreamHeaders). */
  #checkedFrom = 0;
  #endpoint: Endpoint | null = null;
  #tried: Endpoint | null = null;
  #attempt = 0;
  #isRetry = false;
  #abort: ((err?: Error) => void) | null = null;
  #resume: (() => void) | null = null;
  #discard = false;
  #retryAfterDiscard: UpstreamOutcome | null = null;
  /** A timeout of a length computed per request (a gRPC deadline); the route's own timeout is in a DeadlineList. */
  #timer: NodeJS.Timeout | null = null;
  #asyncAuth = false;
  #breaker: ClusterBreaker | null = null;
  #held = 0;
  #done = false;
  #status = 0;
  /** RateLimit-* headers for a passing response, when the route's limits send them. */
  #limitHeaders: string[] | null = null;
  #limitsTaken = false;
  #claims: Readonly<Record<string, unknown>> | undefined = undefined;
  /** Access-log timings and counts (filled only while a log is configured). */
  #log: AccessLog | null = null;
  #dispatchAt = 0;
  #connectMs = -1;
  #responseMs = -1;
  #bytesOut = 0;
  #conn: ConnectionFacts | null = null;
  /** gRPC call (application/grpc): status from headers or trailers, local answers in gRPC form. */
  #grpc = false;
  #grpcStatus = -1;
  /** grpc-status fields of a Trailers-Only answer, sent on as trailers. */
  #grpcTrailers: string[] | null = null;
  /** A gRPC answer's endpoint outcome waits for its trailers. */
  #reportAtEnd = false;
  #timeoutMs = 0;
  /** A copy of a gRPC request body, for retries (see #keepForReplay). */
  #replay: Buffer[] | null = null;
  #last: Endpoint | null = null;

  constructor(
    proxy: Proxy,
    opts: ProxyOptions,
    _table: EdgeTable,
    route: CompiledRoute,
    req: DownstreamRequest,
    res: DownstreamResponse,
    scheme: 'http' | 'https',
    prepared: PreparedRequest,
    method: string,
    underscores: UnderscoreAction,
    /** The route's limits already taken by Proxy.handle: their passing headers (null: none); undefined: not taken yet. */
    limits?: string[] | null,
  ) {
    this.#proxy = proxy;
    this.#opts = opts;
    this.#route = route;
    this.#req = req;
    this.#res = res;
    this.#scheme = scheme;
    this.#authority = prepared.authority;
    this.#underscores = underscores;
    this.#url = prepared.url;
    this.#method = method;
    this.#hasBody = requestHasBody(req);
    if (limits !== undefined) {
      this.#limitsTaken = true;
      this.#limitHeaders = limits;
    }
  }

  start(): void {
    const res = this.#res;
    (res as ExchangeCarrier)[kExchange] = this;
    res.on('close', onDownstreamClose);
    const incomingId = requestIdOf(this.#req);
    this.#requestId = typeof incomingId === 'string' && isValidRequestId(incomingId) ? incomingId : requestIds.next();
    const route = this.#route;
    this.#log = this.#opts.accessLog?.current ?? null;
    this.#grpc = 'stream' in this.#res && isGrpcRequest(this.#req.headers['content-type']);
    // The connection is read now: by the time the line is written a finished request may have let go of it.
    if (this.#log !== null) this.#conn = connectionFacts(this.#req);
    if (route.rateLimit !== null && !route.rateLimit.needsClaims && !this.#limitsTaken && this.#limited()) return;
    if (route.auth !== null && this.#opts.auth) {
      // The request, not req.headers: a token header is read from the raw fields (no header object built).
      const outcome = this.#opts.auth.authenticate(route.auth, this.#req, this.#url);
      if (outcome instanceof Promise) {
        outcome.then((o) => {
          this.#asyncAuth = true;
          this.#afterAuth(o);
        }, (err: unknown) => {
          this.#opts.logger.error({ err, route: route.name }, 'authenticator failed');
          this.#fail(500, 'internal_error', 'authentication failed unexpectedly', null);
        });
        return;
      }
      this.#afterAuth(outcome);
      return;
    }
    this.#afterAuth(null);
  }

  #afterAuth(outcome: AuthOutcome | null): void {
    if (this.#done) return;
    if (outcome !== null && !outcome.ok) {
      this.#finishLocal(outcome.status, outcome.headers, outcome.body);
      return;
    }
    if (outcome !== null) this.#claims = outcome.claims;
    if (this.#route.rateLimit?.needsClaims && this.#limited()) return;
    const index = this.#chooseCluster();
    if (index < 0) {
      this.#fail(503, 'no_cluster', 'every cluster of the route has weight 0', null);
      return;
    }
    if (outcome !== null && outcome.url !== undefined) this.#url = outcome.url;
    this.#upstreamHeaders = this.#buildUpstreamHeaders(outcome);
    if (this.#upstreamHeaders === null) return;
    this.#stats = this.#route.split.targets[index]!.cluster;
    const cluster = this.#stats.cluster;
    cluster.load.active++;
    // Circuit breaker (src/health): over maxRequests the request fails fast instead of queueing.
    const breaker = this.#opts.directory.breaker?.(cluster.name) ?? null;
    if (breaker !== null) {
      const limit = breaker.tryAcquire('request');
      if (limit !== null) {
        this.#fail(503, 'overloaded', `cluster "${cluster.name}" is over its ${limit} limit`, null, ['x-edgeplane-overloaded', limit]);
        return;
      }
      this.#breaker = breaker;
      this.#held = HELD_REQUEST;
    }
    let timeoutMs = this.#route.timeoutMs;
    if (this.#grpc) {
      // The client's deadline (grpc-timeout) shortens the route's timeout, never lengthens it.
      const deadline = parseGrpcTimeout(this.#req.headers['grpc-timeout']);
      if (deadline !== undefined && (timeoutMs === 0 || deadline < timeoutMs)) timeoutMs = deadline;
    }
    this.#timeoutMs = timeoutMs;
    if (timeoutMs > 0) {
      // The route's configured timeout counts from here, as a timer set here would (after an asynchronous auth, from now).
      if (timeoutMs === this.#route.timeoutMs) deadlineList(timeoutMs).add(this, this.#asyncAuth ? performance.now() : this.#start);
      else this.#timer = setTimeout(onRequestTimeout, timeoutMs, this);
    }
    if (this.#grpc && this.#hasBody && cluster.h2 && (this.#route.retry?.grpcCodes.size ?? 0) > 0) this.#keepForReplay();
    this.#dispatch();
  }

  /**
   * A gRPC call on a route that retries on gRPC statuses keeps a copy of its
   * request body while it streams to the upstream (as Envoy buffers it), so a
   * Trailers-Only failure can be retried once the client has sent it all —
   * up to REPLAY_LIMIT bytes; a longer or unfinished body is not retried.
   */
  #keepForReplay(): void {
    const chunks: Buffer[] = [];
    let bytes = 0;
    this.#replay = chunks;
    this.#req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > REPLAY_LIMIT) this.#replay = null;
      else chunks.push(chunk);
    });
  }

  /** The request body can be sent again: kept whole and finished. */
  #replayable(): boolean {
    return this.#replay !== null && this.#req.readableEnded;
  }

  /** Takes the request's rate-limit tokens; answers 429 and returns true when a limit refuses. */
  #limited(): boolean {
    const v = this.#route.rateLimit!.check({ headers: this.#req.headers, clientAddress: this.#req.socket?.remoteAddress, claims: this.#claims });
    if (v === null) return false;
    if (v.allowed) {
      this.#limitHeaders = v.headers;
      return false;
    }
    edgeMetrics.rateLimited.labels(this.#route.name, v.limit).inc();
    this.#fail(429, 'rate_limited', `too many requests (limit "${v.limit}")`, null, v.headers);
    return true;
  }

  #chooseCluster(): number {
    const route = this.#route;
    // Without override or sticky rules no header is read (the native engine then builds no header object).
    if (route.overrideHeader === null && route.sticky === null) return route.split.next(this.#proxy.availability(route));
    return chooseCluster(route, this.#req.headers, this.#scheme, this.#proxy.availability(route), this);
  }

  /** StickyCookieSink: a sticky cookie assigned to this request goes out with the response. */
  stickyCookie(setCookie: string): void {
    this.#setCookie = setCookie;
  }

  /** The one sanitiser (src/edge/request-headers.ts) shared with Upgrade requests; null when the listener refuses the request. */
  #buildUpstreamHeaders(auth: AuthOutcome | null): string[] | null {
    const route = this.#route;
    const removeAuth = auth !== null && auth.ok && auth.removeHeaders.length > 0 ? headerSet(auth.removeHeaders) : null;
    const out = upstreamRequestHeaders(this.#req.rawHeaders, { remove: route.removeRequestHeaders, removeAlso: removeAuth, underscores: this.#underscores }, {
      host: route.rewriteHost ?? this.#authority,
      forwardedHost: this.#authority,
      clientIp: this.#req.socket?.remoteAddress ?? '',
      scheme: this.#scheme,
      requestId: this.#requestId,
    });
    if (!Array.isArray(out)) {
      edgeMetrics.clientErrors.labels(out.reason).inc();
      this.#fail(out.status, out.reason, out.message, null);
      return null;
    }
    // What the native parser read (names and values already refused CR, LF and NUL) and what the gateway derived from
    // it (canonical authority, client address, request id) needs no second check; a configured Host rewrite does.
    this.#checkedFrom = route.rewriteHost === null && (this.#req as { hasBody?: boolean }).hasBody !== undefined ? out.length : 0;
    for (const [k, v] of route.setRequestHeaders) out.push(k, v);
    if (auth !== null && auth.ok) for (const [k, v] of auth.setHeaders) out.push(k, v);
    return out;
  }

  #dispatch(): void {
    const stats = this.#stats!;
    const cluster = stats.cluster;
    const target = this.#opts.directory.cluster(cluster.name);
    const endpoints = target?.endpoints ?? [];
    const endpoint = cluster.balancer.pick(endpoints, this.#hashKey(), this.#tried ?? undefined);
    if (endpoint === undefined) {
      this.#fail(503, 'no_healthy_upstream', `cluster "${cluster.name}" has no endpoint available`, null);
      return;
    }
    this.#endpoint = this.#last = endpoint;
    endpoint.active++;
    this.#attempt++;
    this.#discard = false;
    this.#retryAfterDiscard = null;
    this.#abort = null;
    if (this.#log !== null) {
      this.#dispatchAt = performance.now();
      this.#connectMs = this.#responseMs = -1;
    }
    const rewrite = this.#route.rewritePrefix;
    const path = rewrite === null ? this.#url : joinPrefix(rewrite.to, this.#url.slice(rewrite.from.length));
    const perTry = this.#route.retry?.perTryTimeoutMs ?? 0;
    let pool;
    try {
      pool = this.#opts.pools.get(endpoint);
    } catch (err) {
      endpoint.active--;
      this.#fail(503, 'no_healthy_upstream', (err as Error).message, null);
      return;
    }
    // Pending: from dispatch until undici hands the request a connection (onConnect).
    if (this.#breaker !== null) {
      const limit = this.#breaker.tryAcquire('pending');
      if (limit !== null) {
        endpoint.active--;
        this.#endpoint = null;
        this.#fail(503, 'overloaded', `cluster "${this.#stats!.cluster.name}" is over its ${limit} limit`, null, ['x-edgeplane-overloaded', limit]);
        return;
      }
      this.#held |= HELD_PENDING;
    }
    pool.dispatch(
      {
        path,
        method: this.#method,
        headers: this.#upstreamHeaders!,
        headersCheckedFrom: this.#checkedFrom,
        body: this.#hasBody ? (this.#isRetry && this.#replay !== null ? Buffer.concat(this.#replay) : (this.#req as NodeJS.ReadableStream as never)) : null,
        headersTimeout: perTry > 0 ? Math.min(perTry, this.#route.firstByteTimeoutMs) : this.#route.firstByteTimeoutMs,
        bodyTimeout: this.#route.idleTimeoutMs,
      } as Dispatcher.DispatchOptions /* + headersCheckedFrom, read by the native pools only */,
      this,
    );
  }

  #hashKey(): string | undefined {
    const hashOn = this.#stats!.cluster.hashOn;
    if (hashOn === null) return this.#req.socket?.remoteAddress;
    if (hashOn.header) {
      const v = this.#req.headers[hashOn.header];
      if (typeof v === 'string') return v;
    }
    if (hashOn.cookie) {
      const v = readCookie(this.#req.headers.cookie, hashOn.cookie);
      if (v !== undefined) return v;
    }
    return this.#req.socket?.remoteAddress;
  }

  // --- undici dispatch handler (legacy interface: the one undici's Client calls directly) ---

  onConnect(abort: (err?: Error) => void): void {
    if ((this.#held & HELD_PENDING) !== 0) this.#release(HELD_PENDING);
    if (this.#done) {
      abort(new Error('downstream gone'));
      return;
    }
    this.#abort = abort;
    if (this.#log !== null) this.#connectMs = performance.now() - this.#dispatchAt;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (this.#done) return false;
    if (statusCode < 200) return true; // 1xx informational: not forwarded
    const grpcStatus = this.#grpc && this.#stats!.cluster.h2 ? findGrpcStatus(rawHeaders) : -1;
    if (!this.#takeResponse(statusCode, grpcStatus, resume)) return true;
    return this.#writeCheckedHead(statusCode, statusText, rawHeaders, grpcStatus);
  }

  /**
   * The native pool's head (it skips 1xx itself). The common case forwards the
   * upstream's field lines as slices of the head's text, with no check (the
   * native response parser refused CR, LF and NUL; the route's lines were
   * checked at compile time) and no field cut into strings; a Connection
   * header listing names, a sticky cookie, rate-limit headers, gRPC or an
   * HTTP/2 client take the field-by-field path.
   */
  onResponseHead(head: ResponseHead, resume: () => void): boolean {
    if (this.#done) return false;
    const status = head.status;
    if (!this.#takeResponse(status, -1, resume)) return true;
    const route = this.#route;
    const res = this.#res;
    if (!this.#grpc && this.#setCookie === null && this.#limitHeaders === null && route.setResponseLines != null && (res as Partial<HeadLinesResponse>).writeHeadLines !== undefined) {
      const remove = route.removeResponseHeaders.size > 0 ? route.removeResponseHeaders : null;
      const lines = forwardedFieldLines(head, remove);
      if (lines !== null) {
        (res as unknown as HeadLinesResponse).writeHeadLines(status, head.statusText, lines + route.setResponseLines + 'x-request-id: ' + this.#requestId + '\r\n', forwardsLength(head, remove));
        return true;
      }
    }
    return this.#writeCheckedHead(status, head.statusText, head.rawHeaders, -1);
  }

  /** Reports the endpoint's outcome and takes the response; false when it is to be read and dropped for a retry. */
  #takeResponse(statusCode: number, grpcStatus: number, resume: () => void): boolean {
    if (this.#log !== null) this.#responseMs = performance.now() - this.#dispatchAt;
    // gRPC counts by its status as Envoy does (UNAVAILABLE as a 503...); a streamed answer's status comes with the trailers.
    const effective = grpcStatus >= 0 ? grpcToHttpStatus(grpcStatus) : statusCode;
    const outcome = outcomeOf(effective);
    this.#reportAtEnd = this.#grpc && this.#stats!.cluster.h2 && grpcStatus < 0 && statusCode === 200;
    if (!this.#reportAtEnd) this.#opts.directory.report(this.#endpoint!, outcome, effective);
    const retry = this.#route.retry;
    if (retry !== null && (retry.statuses.has(statusCode) || (grpcStatus >= 0 && retry.grpcCodes.has(grpcStatus))) && this.#canRetry()) {
      // Read and drop this response's body so the connection stays reusable, then retry.
      this.#discard = true;
      this.#retryAfterDiscard = outcome;
      return false;
    }
    this.#resume = resume;
    this.#status = statusCode;
    if (grpcStatus >= 0) this.#grpcStatus = grpcStatus;
    return true;
  }

  /** The response head field by field: hop-by-hop and Connection-listed names stripped, gRPC's Trailers-Only status moved to trailers. */
  #writeCheckedHead(statusCode: number, statusText: string, rawHeaders: readonly (Buffer | string)[], grpcStatus: number): boolean {
    const res = this.#res;
    const route = this.#route;
    const out: string[] = [];
    let tokens: Set<string> | null = null;
    const checkAll = route.removeResponseHeaders.size > 0 || grpcStatus >= 0;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!.toString('latin1');
      if (!checkAll && !mayBeIn(RESPONSE_SPECIAL_LENGTHS, name)) {
        out.push(name, rawHeaders[i + 1]!.toString('latin1'));
        continue;
      }
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower)) {
        if (lower === 'connection') tokens = connectionTokens(rawHeaders[i + 1]!.toString('latin1'), tokens);
        continue;
      }
      if (checkAll && route.removeResponseHeaders.has(lower)) continue;
      if (grpcStatus >= 0 && GRPC_STATUS_FIELDS.has(lower)) {
        // Trailers-Only: HTTP/2 clients need the status after the headers, so it goes on as trailers.
        (this.#grpcTrailers ??= []).push(lower, rawHeaders[i + 1]!.toString('latin1'));
        continue;
      }
      out.push(name, rawHeaders[i + 1]!.toString('latin1'));
    }
    if (tokens !== null) stripTokens(out, tokens);
    for (const [k, v] of route.setResponseHeaders) out.push(k, v);
    out.push('x-request-id', this.#requestId);
    if (this.#setCookie !== null) out.push('set-cookie', this.#setCookie);
    if (this.#limitHeaders !== null) for (let i = 0; i < this.#limitHeaders.length; i++) out.push(this.#limitHeaders[i]!);
    try {
      writeHead(res, statusCode, statusText, out);
    } catch (err) {
      this.#opts.logger.warn({ err, route: route.name }, 'upstream response headers rejected');
      this.#abort?.(err as Error);
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#discard || this.#done) return true;
    this.#bytesOut += chunk.length;
    const ok = (this.#res as ServerResponse).write(chunk);
    if (!ok) this.#res.once('drain', this.#resume!);
    return ok;
  }

  onComplete(trailers?: string[] | Buffer[] | null): void {
    if (this.#discard) {
      this.#releaseEndpoint();
      this.#retry(this.#retryAfterDiscard!);
      return;
    }
    if (this.#reportAtEnd && this.#last !== null) {
      const code = trailers != null ? findGrpcStatus(trailers) : -1;
      if (code >= 0) this.#grpcStatus = code;
      const effective = code >= 0 ? grpcToHttpStatus(code) : 200;
      this.#opts.directory.report(this.#last, outcomeOf(effective), effective);
    }
    this.#releaseEndpoint();
    if (!this.#done) {
      // Trailers (gRPC's grpc-status and grpc-message) go on to an HTTP/2 client.
      if (this.#grpcTrailers !== null) trailers = trailers != null && trailers.length > 0 ? [...this.#grpcTrailers, ...trailers.map(String)] : this.#grpcTrailers;
      if (trailers != null && trailers.length > 0 && 'stream' in this.#res) forwardTrailers(this.#res, trailers);
      this.#res.end();
      this.#complete(this.#status, null);
    }
  }

  onError(err: Error): void {
    if ((this.#held & HELD_PENDING) !== 0) this.#release(HELD_PENDING);
    const endpoint = this.#endpoint;
    this.#releaseEndpoint();
    if (this.#done) return;
    const failure = classifyUpstreamError(err);
    // A failure the client caused (it went away, its body broke off) says nothing about the endpoint.
    if (endpoint !== null && !failure.fromClient) {
      this.#opts.directory.report(endpoint, failure.outcome, 0);
      if (failure.outcome === 'connect-failure') edgeMetrics.connectErrors.labels(endpoint.cluster).inc();
      edgeMetrics.upstreamErrors.labels(endpoint.cluster, failure.reason).inc();
    }
    if (this.#res.headersSent) {
      // Mid-body failure: the status line is gone, so cut the downstream response.
      this.#res.destroy(err);
      this.#complete(this.#status, failure.reason);
      return;
    }
    if (retriesFailure(this.#route.retry, failure) && this.#canRetry()) {
      this.#retry(failure.outcome);
      return;
    }
    this.#fail(failure.status, failure.reason, failure.message, endpoint);
  }

  // --- retries ---

  /** The policy (src/edge/retry-policy.ts) allows another attempt; takes the breaker's retry unit if so. */
  #canRetry(): boolean {
    const retry = this.#route.retry;
    if (retry === null || this.#attempt > retry.attempts) return false;
    if (!canResend(this.#method, this.#hasBody, this.#replayable()) || this.#res.headersSent) return false;
    const cluster = this.#stats!.cluster;
    if (!withinRetryBudget(retry, cluster.load)) {
      edgeMetrics.retryBudgetExhausted.labels(cluster.name).inc();
      return false;
    }
    // Circuit breaker maxRetries: one unit per request that is retrying; over it, no retry (Envoy's retry overflow).
    if (this.#breaker !== null && (this.#held & HELD_RETRY) === 0) {
      if (this.#breaker.tryAcquire('retry') !== null) return false;
      this.#held |= HELD_RETRY;
    }
    return true;
  }

  #release(units: number): void {
    const b = this.#breaker!;
    if ((units & this.#held & HELD_REQUEST) !== 0) b.release('request');
    if ((units & this.#held & HELD_PENDING) !== 0) b.release('pending');
    if ((units & this.#held & HELD_RETRY) !== 0) b.release('retry');
    this.#held &= ~units;
  }

  #retry(_outcome: UpstreamOutcome): void {
    const cluster = this.#stats!.cluster;
    this.#tried = this.#endpoint;
    if (!this.#isRetry) {
      this.#isRetry = true;
      cluster.load.activeRetries++;
    }
    this.#stats!.retries.inc();
    this.#dispatch();
  }

  // --- completion ---

  #releaseEndpoint(): void {
    if (this.#endpoint !== null) {
      this.#endpoint.active--;
      this.#endpoint = null;
    }
    this.#abort = null;
  }

  /** The route timeout passed (DeadlineList). */
  deadlinePassed(): void {
    this.requestTimedOut();
  }

  /** Called through the module-level onRequestTimeout (no closure per request). */
  requestTimedOut(): void {
    this.#timer = null;
    if (this.#done) return;
    if (this.#abort !== null) this.#abort(new UpstreamTimeoutError(this.#timeoutMs));
    else this.#fail(504, 'upstream_timeout', `no response within ${this.#timeoutMs}ms`, null);
  }

  /** Called through the module-level onDownstreamClose (no closure per request). */
  downstreamClosed(): void {
    if (this.#done) return;
    // The client went away before the response finished: stop the upstream work too.
    const abort = this.#abort;
    this.#releaseEndpoint();
    abort?.(new DownstreamClosedError());
    this.#complete(this.#status || 499, 'client_closed');
  }

  #fail(status: number, reason: string, message: string, endpoint: Endpoint | null, headers?: string[]): void {
    if (this.#done) return;
    if (this.#res.headersSent) {
      this.#res.destroy();
    } else if (this.#grpc) {
      this.#grpcReply(status, `${reason}: ${message}`, headers);
    } else {
      const extra: string[] = headers === undefined ? ['x-request-id', this.#requestId] : ['x-request-id', this.#requestId, ...headers];
      this.#bytesOut = sendError(this.#res, status, reason, message, {
        route: this.#route.name,
        ...(this.#stats ? { cluster: this.#stats.cluster.name } : {}),
        ...(endpoint ? { endpoint: endpoint.address } : {}),
        requestId: this.#requestId,
      }, extra);
    }
    this.#complete(status, reason);
  }

  #finishLocal(status: number, headers: Record<string, string>, body: string): void {
    if (this.#grpc) {
      this.#grpcReply(status, describeLocal(body), Object.entries(headers).flat());
      this.#complete(status, null);
      return;
    }
    const res = this.#res;
    const out: string[] = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'x-request-id', this.#requestId];
    for (const [k, v] of Object.entries(headers)) out.push(k, v);
    writeHead(res, status, '', out);
    res.end(body);
    this.#bytesOut = Buffer.byteLength(body);
    this.#complete(status, null);
  }

  /** The gateway's own answer to a gRPC call: HTTP 200 with the status in trailers, as gRPC clients expect (Envoy does the same). */
  #grpcReply(httpStatus: number, message: string, headers?: string[]): void {
    const res = this.#res as Http2ServerResponse;
    this.#grpcStatus = httpToGrpcStatus(httpStatus);
    const out: Record<string, string> = { 'content-type': 'application/grpc', 'x-request-id': this.#requestId };
    if (headers !== undefined) for (let i = 0; i < headers.length; i += 2) out[headers[i]!.toLowerCase()] = headers[i + 1]!;
    res.addTrailers({ 'grpc-status': String(this.#grpcStatus), 'grpc-message': encodeGrpcMessage(message) });
    res.writeHead(200, out);
    res.end();
  }

  #complete(status: number, error: string | null): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#held !== 0) this.#release(this.#held);
    if (this.#timer !== null) clearTimeout(this.#timer);
    else if (this.deadlineAt >= 0) deadlineList(this.#route.timeoutMs).remove(this);
    // The 'close' listener stays: it returns at once once #done is set, and removing it
    // cost a measurable share of the request path (EventEmitter.removeListener).
    const stats = this.#stats;
    const routeName = this.#route.name;
    if (stats !== null) {
      const cluster = stats.cluster;
      cluster.load.active--;
      if (this.#isRetry) cluster.load.activeRetries--;
      let c = stats.byCode.get(status);
      if (c === undefined) {
        c = edgeMetrics.requests.labels(routeName, cluster.name, String(status));
        stats.byCode.set(status, c);
      }
      c.inc();
      stats.duration.observe((performance.now() - this.#start) / 1000);
    } else {
      edgeMetrics.requests.labels(routeName, '', String(status)).inc();
    }
    if (this.#grpc) edgeMetrics.grpcRequests.labels(routeName, stats?.cluster.name ?? '', this.#grpcStatus >= 0 ? String(this.#grpcStatus) : 'none').inc();
    if (this.#log !== null && this.#log.sampled(status)) this.#logAccess(this.#log, status, error);
    this.#proxy.finished();
  }

  #logAccess(log: AccessLog, status: number, error: string | null): void {
    const req = this.#req;
    const h = req.headers;
    const conn = this.#conn!;
    const len = h['content-length'];
    const now = performance.now();
    log.write({
      startedAt: Date.now() - (now - this.#start),
      clientAddress: conn.clientAddress,
      method: this.#method,
      authority: this.#authority,
      path: req.url ?? '/',
      protocol: `HTTP/${req.httpVersion}`,
      status,
      // HTTP/2 shares the socket between streams: only a declared length counts there.
      bytesIn: len !== undefined ? Number(len) || 0 : conn.socket === null ? 0 : Math.max(0, conn.socket.bytesRead - conn.bytesRead),
      bytesOut: this.#bytesOut,
      userAgent: h['user-agent'],
      referer: h.referer,
      route: this.#route.name,
      cluster: this.#stats?.cluster.name,
      endpoint: this.#last?.address,
      attempts: this.#attempt,
      upstreamConnectMs: this.#connectMs,
      upstreamResponseMs: this.#responseMs,
      totalMs: now - this.#start,
      requestId: this.#requestId,
      tlsVersion: conn.tlsVersion,
      sni: conn.sni,
      jwtSubject: log.jwtSubject && typeof this.#claims?.sub === 'string' ? this.#claims.sub : undefined,
      error: error ?? undefined,
    });
  }
}

interface ConnectionFacts {
  clientAddress: string;
  tlsVersion: string | undefined;
  sni: string | undefined;
  /** HTTP/1.1 only (HTTP/2 streams share the socket): the connection's read count at the start, for a chunked body's size. */
  socket: TLSSocket | null;
  bytesRead: number;
}

function connectionFacts(req: DownstreamRequest): ConnectionFacts {
  const socket = req.socket as TLSSocket | undefined;
  const tls = socket?.encrypted === true;
  const h1 = socket !== undefined && !('stream' in req);
  return {
    clientAddress: socket?.remoteAddress ?? '',
    tlsVersion: tls ? (socket.getProtocol() ?? undefined) : undefined,
    sni: tls && typeof socket.servername === 'string' ? socket.servername : undefined,
    socket: h1 ? socket : null,
    bytesRead: h1 ? socket.bytesRead : 0,
  };
}

/** The client's X-Request-Id when it is a sane token, else a new one. */
function requestIdFromHeaders(headers: IncomingHttpHeaders): string {
  const incoming = headers['x-request-id'];
  return typeof incoming === 'string' && isValidRequestId(incoming) ? incoming : requestIds.next();
}

/** The exchange a downstream response belongs to, so one shared 'close' listener can find it. */
const kExchange = Symbol('edgeplane.exchange');
type ExchangeCarrier = DownstreamResponse & { [kExchange]?: Exchange };

function onDownstreamClose(this: DownstreamResponse): void {
  (this as ExchangeCarrier)[kExchange]?.downstreamClosed();
}

function onRequestTimeout(exchange: Exchange): void {
  exchange.requestTimedOut();
}

/** The native engine's response (src/edge/http1/response.ts) takes a head already serialised. */
interface HeadLinesResponse {
  writeHeadLines(status: number, statusText: string, lines: string, hasLength: boolean): void;
}

class DownstreamClosedError extends Error {
  readonly code = 'EP_DOWNSTREAM_CLOSED';
}

/** Authenticators reuse their removeHeaders arrays across requests, so their lower-cased sets are cached. */
const headerSets = new WeakMap<readonly string[], ReadonlySet<string>>();
function headerSet(names: readonly string[]): ReadonlySet<string> {
  let set = headerSets.get(names);
  if (set === undefined) headerSets.set(names, (set = new Set(names.map((h) => h.toLowerCase()))));
  return set;
}

/**
 * X-Request-Id as req.headers would give it (repeated fields joined with ', ',
 * which no valid id contains), read from rawHeaders so that the common request
 * builds no header object.
 */
function requestIdOf(req: DownstreamRequest): string | undefined {
  if ('stream' in req) {
    const v = req.headers['x-request-id'];
    return typeof v === 'string' ? v : undefined;
  }
  const raw = req.rawHeaders;
  let found: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 12 && name.toLowerCase() === 'x-request-id') found = found === undefined ? raw[i + 1]! : `${found}, ${raw[i + 1]!}`;
  }
  return found;
}

function requestHasBody(req: DownstreamRequest): boolean {
  // The native engine's parser already knows the framing.
  const framed = (req as { hasBody?: boolean }).hasBody;
  if (framed !== undefined) return framed;
  const h = req.headers;
  if ('stream' in req) {
    // HTTP/2: the client ended the stream with its HEADERS frame when there is no body.
    return !(req.stream as { endAfterHeaders?: boolean }).endAfterHeaders;
  }
  const len = h['content-length'];
  if (len !== undefined) return len !== '0';
  return h['transfer-encoding'] !== undefined;
}

/** The path after a prefix rewrite (shared with Upgrade requests). */
export function joinPrefix(to: string, rest: string): string {
  if (rest === '' || rest.startsWith('?')) return to + rest;
  if (to.endsWith('/') && rest.startsWith('/')) return to + rest.slice(1);
  if (!to.endsWith('/') && !rest.startsWith('/')) return `${to}/${rest}`;
  return to + rest;
}

function stripTokens(flat: string[], tokens: Set<string>): void {
  for (let i = flat.length - 2; i >= 0; i -= 2) {
    if (tokens.has(flat[i]!.toLowerCase())) flat.splice(i, 2);
  }
}

function outcomeOf(status: number): UpstreamOutcome {
  return status >= 500 ? (status >= 502 && status <= 504 ? 'gateway-error' : 'http-5xx') : 'success';
}

function writeHead(res: DownstreamResponse, status: number, statusText: string, flat: string[]): void {
  if ('stream' in res) {
    // HTTP/2 responses take a header object; repeated names become arrays.
    const obj: Record<string, string | string[]> = {};
    for (let i = 0; i < flat.length; i += 2) {
      const k = flat[i]!.toLowerCase();
      const prev = obj[k];
      if (prev === undefined) obj[k] = flat[i + 1]!;
      else if (Array.isArray(prev)) prev.push(flat[i + 1]!);
      else obj[k] = [prev, flat[i + 1]!];
    }
    (res as Http2ServerResponse).writeHead(status, obj);
    return;
  }
  if (statusText) (res as ServerResponse).writeHead(status, statusText, flat);
  else (res as ServerResponse).writeHead(status, flat);
}

export type { IncomingHttpHeaders };
