import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import type { EdgeTable, CompiledRoute } from './compile.ts';
import type { EndpointDirectory } from '../health/types.ts';
import type { UpstreamPools } from './upstreams.ts';
import type { RequestAuthenticator, AuthOutcome } from './auth.ts';
import type { Logger } from '../util/logger.ts';
import { prepareRequest, routeAcceptsEscapedSlash, type PreparedRequest } from './normalize.ts';
import { upstreamRequestHeaders } from './request-headers.ts';
import { DEFAULT_LISTENER_POLICY, type ListenerRequestPolicy } from './listener-policy.ts';
import { isValidRequestId } from './http-util.ts';
import { chooseCluster, type StickyCookieSink } from './cluster-choice.ts';
import { edgeMetrics } from '../metrics/edge.ts';
import { joinPrefix } from './proxy.ts';
import { requestIds } from './request-id.ts';

export interface UpgradeProxyOptions {
  directory: EndpointDirectory;
  pools: UpstreamPools;
  logger: Logger;
  /** Checks tokens on routes with `auth`; without it such upgrades are refused (fail closed). */
  auth?: RequestAuthenticator;
}

/**
 * HTTP/1.1 Upgrade (WebSocket) pass-through. An upgrade is a request like any
 * other until the 101: the same normalisation, routing, rate limits, JWT check
 * (with the route's `webSocket.tokenFrom`, since browsers cannot set
 * Authorization on a WebSocket), split with override and sticky, header
 * sanitising (src/edge/request-headers.ts: X-Forwarded-For appended to) and
 * endpoint pick. Then undici asks the upstream to upgrade and the two sockets
 * are spliced together; frames are not parsed (their size limits are the
 * upstream's), the route's idle timeout closes a silent tunnel.
 */
export class UpgradeProxy {
  #table: EdgeTable | null = null;

  constructor(private readonly options: UpgradeProxyOptions) {}

  setTable(table: EdgeTable): void {
    this.#table = table;
  }

  handle(req: IncomingMessage, socket: Duplex, head: Buffer, scheme: 'http' | 'https', listener: ListenerRequestPolicy = DEFAULT_LISTENER_POLICY): void {
    socket.on('error', () => socket.destroy());
    const table = this.#table;
    if (table === null) return rawReply(socket, 503, 'not_ready');
    const prepared = prepareRequest(req.url ?? '/', null, req.rawHeaders, listener.request);
    if (!prepared.ok) return rawReply(socket, prepared.status, prepared.reason, prepared.message);
    const route = table.routes.match(prepared.host, prepared.path, req.method ?? 'GET', (n) => {
      const v = req.headers[n];
      return Array.isArray(v) ? v.join(',') : v;
    });
    if (!route) return rawReply(socket, 404, 'no_route');
    if (!routeAcceptsEscapedSlash(prepared, route.escapedSlashes, listener.request)) return rawReply(socket, 400, 'escaped_slash');
    const up = new Upgrade(this.options, table, route, req, socket, head, scheme, prepared, listener);
    try {
      up.start();
    } catch (err) {
      this.options.logger.error({ err, route: route.name }, 'unexpected error in an upgrade');
      rawReply(socket, 500, 'internal_error');
    }
  }
}

/** One upgrade request, from routing to the spliced tunnel. */
class Upgrade implements StickyCookieSink {
  #setCookie: string | null = null;
  #url: string;

  constructor(
    private readonly o: UpgradeProxyOptions,
    private readonly table: EdgeTable,
    private readonly route: CompiledRoute,
    private readonly req: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
    private readonly scheme: 'http' | 'https',
    private readonly prepared: Extract<PreparedRequest, { ok: true }>,
    private readonly listener: ListenerRequestPolicy,
  ) {
    this.#url = prepared.url;
  }

  stickyCookie(setCookie: string): void {
    this.#setCookie = setCookie;
  }

  start(): void {
    const route = this.route;
    if (route.rateLimit !== null && !route.rateLimit.needsClaims && this.#limited(undefined)) return;
    if (route.auth === null) return this.#afterAuth(null);
    const auth = this.o.auth;
    // Fail closed: an auth route is never tunnelled unchecked.
    if (auth === undefined) return rawReply(this.socket, 403, 'upgrade_not_allowed');
    const outcome = auth.authenticate(route.auth, this.req.headers, this.#url, route.webSocket.tokenFrom ?? undefined);
    if (outcome instanceof Promise) {
      outcome.then((o) => this.#afterAuth(o), (err: unknown) => {
        this.o.logger.error({ err, route: route.name }, 'authenticator failed');
        rawReply(this.socket, 500, 'internal_error', 'authentication failed unexpectedly');
      });
      return;
    }
    this.#afterAuth(outcome);
  }

  #limited(claims: Readonly<Record<string, unknown>> | undefined): boolean {
    const v = this.route.rateLimit!.check({ headers: this.req.headers, clientAddress: this.req.socket?.remoteAddress, claims });
    if (v === null || v.allowed) return false;
    edgeMetrics.rateLimited.labels(this.route.name, v.limit).inc();
    rawReply(this.socket, 429, 'rate_limited', `too many requests (limit "${v.limit}")`, v.headers);
    return true;
  }

  #afterAuth(outcome: AuthOutcome | null): void {
    const { route, req, socket, o } = this;
    if (socket.destroyed) return;
    if (outcome !== null && !outcome.ok) {
      const flat: string[] = [];
      for (const [k, v] of Object.entries(outcome.headers)) if (k.toLowerCase() !== 'content-type' && k.toLowerCase() !== 'content-length') flat.push(k, v);
      return rawAnswer(socket, outcome.status, flat, outcome.body);
    }
    if (outcome !== null && route.rateLimit?.needsClaims && this.#limited(outcome.claims)) return;
    if (outcome !== null && outcome.url !== undefined) this.#url = outcome.url;
    const removeAuth = outcome !== null && outcome.removeHeaders.length > 0 ? new Set(outcome.removeHeaders.map((h) => h.toLowerCase())) : null;
    const incomingId = req.headers['x-request-id'];
    const headers = upstreamRequestHeaders(req.rawHeaders, { remove: route.removeRequestHeaders, removeAlso: removeAuth, underscores: this.listener.underscores }, {
      host: route.rewriteHost ?? this.prepared.authority,
      forwardedHost: this.prepared.authority,
      clientIp: req.socket?.remoteAddress ?? '',
      scheme: this.scheme,
      requestId: typeof incomingId === 'string' && isValidRequestId(incomingId) ? incomingId : requestIds.next(),
    });
    if (!Array.isArray(headers)) return rawReply(socket, headers.status, headers.reason, headers.message);
    for (const [k, v] of route.setRequestHeaders) headers.push(k, v);
    if (outcome !== null) for (const [k, v] of outcome.setHeaders) headers.push(k, v);

    const directory = o.directory;
    const targets = route.split.targets;
    const index = chooseCluster(route, req.headers, this.scheme, (i) => directory.cluster(targets[i]!.name)?.available ?? false, this);
    if (index < 0) return rawReply(socket, 503, 'no_cluster');
    const clusterName = targets[index]!.name;
    const cluster = this.table.clusters.get(clusterName);
    if (cluster?.h2) return rawReply(socket, 502, 'upgrade_not_supported', `cluster "${clusterName}" speaks HTTP/2: upgrades need an HTTP/1.1 cluster`);
    const target = directory.cluster(clusterName);
    const endpoint = cluster && target ? cluster.balancer.pick(target.endpoints, req.socket?.remoteAddress, undefined) : undefined;
    if (!endpoint) return rawReply(socket, 503, 'no_healthy_upstream');
    let pool;
    try {
      pool = o.pools.get(endpoint);
    } catch {
      return rawReply(socket, 503, 'no_healthy_upstream');
    }
    const rewrite = route.rewritePrefix;
    const path = rewrite === null ? this.#url : joinPrefix(rewrite.to, this.#url.slice(rewrite.from.length));
    pool.dispatch({ path, method: req.method ?? 'GET', headers, upgrade: String(req.headers.upgrade ?? 'websocket') }, this.#handler());
  }

  #handler(): Dispatcher.DispatchHandler {
    const { socket, head, route, o } = this;
    return {
      onConnect: () => {},
      onHeaders: (status: number) => {
        rawReply(socket, 502, 'upgrade_refused', `upstream answered ${status} instead of 101`);
        return false;
      },
      onData: () => true,
      onComplete: () => {},
      onError: (err: Error) => {
        o.logger.debug({ err: err.message, route: route.name }, 'upgrade failed');
        rawReply(socket, 502, 'upstream_connect_failure');
      },
      onUpgrade: (status: number, rawHeaders: Buffer[] | string[] | null, upstream: Duplex) => {
        if (socket.destroyed) return void upstream.destroy();
        let head101 = `HTTP/1.1 ${status} Switching Protocols\r\n`;
        const rh = rawHeaders ?? [];
        for (let i = 0; i < rh.length; i += 2) head101 += `${rh[i]!.toString()}: ${rh[i + 1]!.toString()}\r\n`;
        if (this.#setCookie !== null) head101 += `set-cookie: ${this.#setCookie}\r\n`;
        socket.write(head101 + '\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.on('error', () => socket.destroy());
        socket.on('error', () => upstream.destroy());
        upstream.pipe(socket).on('close', () => upstream.destroy());
        socket.pipe(upstream).on('close', () => socket.destroy());
        // Every byte either way is read from or written to the client's socket, so its timer sees all activity.
        const idle = route.webSocket.idleTimeoutMs;
        const s = socket as Partial<Socket>;
        if (idle > 0 && typeof s.setTimeout === 'function') {
          s.setTimeout(idle, () => {
            socket.destroy();
            upstream.destroy();
          });
        }
      },
    } as Dispatcher.DispatchHandler;
  }
}

function rawReply(socket: Duplex, status: number, reason: string, message = reason, headers: string[] = []): void {
  rawAnswer(socket, status, headers, JSON.stringify({ error: reason, message }));
}

function rawAnswer(socket: Duplex, status: number, headers: string[], body: string): void {
  if (!socket.writable) return void socket.destroy();
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  socket.end(`${head}\r\n${body}`);
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
};
