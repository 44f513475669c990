import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { EdgeTable } from './compile.ts';
import type { EndpointDirectory } from '../health/types.ts';
import type { UpstreamPools } from './upstreams.ts';
import type { Logger } from '../util/logger.ts';
import { prepareRequest, routeAcceptsEscapedSlash } from './normalize.ts';
import { upstreamRequestHeaders } from './request-headers.ts';
import { DEFAULT_LISTENER_POLICY, type ListenerRequestPolicy } from './listener-policy.ts';
import { isValidRequestId } from './http-util.ts';
import { randomUUID } from 'node:crypto';

/**
 * HTTP/1.1 Upgrade (WebSocket) pass-through: route and pick an endpoint like any
 * request, ask the upstream to upgrade through the same undici pool, then splice
 * the two sockets together.
 */
export class UpgradeProxy {
  #table: EdgeTable | null = null;

  constructor(private readonly options: { directory: EndpointDirectory; pools: UpstreamPools; logger: Logger }) {}

  setTable(table: EdgeTable): void {
    this.#table = table;
  }

  /** Same normalisation, routing and header sanitising as a normal request (src/edge/normalize.ts, request-headers.ts). */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer, scheme: 'http' | 'https', listener: ListenerRequestPolicy = DEFAULT_LISTENER_POLICY): void {
    socket.on('error', () => socket.destroy());
    const table = this.#table;
    const prepared = prepareRequest(req.url ?? '/', null, req.rawHeaders, listener.request);
    if (!prepared.ok) return rawReply(socket, prepared.status, prepared.reason, prepared.message);
    const route = table?.routes.match(prepared.host, prepared.path, req.method ?? 'GET', (n) => {
      const v = req.headers[n];
      return Array.isArray(v) ? v.join(',') : v;
    });
    if (!route || route.auth !== null) {
      // Upgrades on authenticated routes are refused rather than let through unchecked.
      return rawReply(socket, route ? 403 : 404, route ? 'upgrade_not_allowed' : 'no_route');
    }
    if (!routeAcceptsEscapedSlash(prepared, route.escapedSlashes, listener.request)) return rawReply(socket, 400, 'escaped_slash');
    const incomingId = req.headers['x-request-id'];
    const headers = upstreamRequestHeaders(req.rawHeaders, { remove: route.removeRequestHeaders, underscores: listener.underscores }, {
      host: route.rewriteHost ?? prepared.authority,
      forwardedHost: prepared.authority,
      clientIp: req.socket.remoteAddress ?? '',
      scheme,
      requestId: typeof incomingId === 'string' && isValidRequestId(incomingId) ? incomingId : randomUUID(),
    });
    if (!Array.isArray(headers)) return rawReply(socket, headers.status, headers.reason, headers.message);
    for (const [k, v] of route.setRequestHeaders) headers.push(k, v);
    const index = route.split.next((i) => this.options.directory.cluster(route.split.targets[i]!.name)?.available ?? false);
    const clusterName = index >= 0 ? route.split.targets[index]!.name : undefined;
    const cluster = clusterName ? table!.clusters.get(clusterName) : undefined;
    const target = clusterName ? this.options.directory.cluster(clusterName) : undefined;
    const endpoint = cluster && target ? cluster.balancer.pick(target.endpoints, req.socket.remoteAddress, undefined) : undefined;
    if (!endpoint) return rawReply(socket, 503, 'no_healthy_upstream');

    const upgradeProtocol = String(req.headers.upgrade ?? 'websocket');
    const handler: Dispatcher.DispatchHandler = {
      onConnect: () => {},
      onHeaders: (status: number) => {
        rawReply(socket, 502, 'upgrade_refused', `upstream answered ${status} instead of 101`);
        return false;
      },
      onData: () => true,
      onComplete: () => {},
      onError: (err: Error) => {
        this.options.logger.debug({ err: err.message, route: route.name }, 'upgrade failed');
        rawReply(socket, 502, 'upstream_connect_failure');
      },
      onUpgrade: (status: number, rawHeaders: Buffer[] | string[] | null, upstream: Duplex) => {
        let head101 = `HTTP/1.1 ${status} Switching Protocols\r\n`;
        const rh = rawHeaders ?? [];
        for (let i = 0; i < rh.length; i += 2) head101 += `${rh[i]!.toString()}: ${rh[i + 1]!.toString()}\r\n`;
        socket.write(head101 + '\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.on('error', () => socket.destroy());
        socket.on('error', () => upstream.destroy());
        upstream.pipe(socket).on('close', () => upstream.destroy());
        socket.pipe(upstream).on('close', () => socket.destroy());
      },
    } as Dispatcher.DispatchHandler;
    let pool;
    try {
      pool = this.options.pools.get(endpoint);
    } catch {
      return rawReply(socket, 503, 'no_healthy_upstream');
    }
    pool.dispatch({ path: prepared.url, method: req.method ?? 'GET', headers, upgrade: upgradeProtocol }, handler);
  }
}

function rawReply(socket: Duplex, status: number, reason: string, message = reason): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ error: reason, message });
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Bad Gateway'}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 431: 'Request Header Fields Too Large', 503: 'Service Unavailable' };
