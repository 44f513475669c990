import type { Config, ClusterConfig, RouteConfig } from '../config/schema/index.ts';
import type { Rng } from '../util/rng.ts';
import { parseDuration } from '../util/duration.ts';
import { RouteTable } from './route-table.ts';
import { WeightedSplit } from './split.ts';
import { createBalancer, type Balancer } from './balancer.ts';
import type { RequestAuthenticator } from './auth.ts';
import { edgeMetrics } from '../metrics/edge.ts';
import { ClusterLoads, type ClusterLoad } from './cluster-load.ts';
// Not the folder's index: it also exports the head refusal, which reads the compiled table.
import { RouteRateLimiter } from './rate-limit/route-limiter.ts';
import { RateLimitStates } from './rate-limit/counters.ts';
import { systemClock } from '../util/clock.ts';
import { GRPC_RETRY_NAMES } from './grpc.ts';
import { compileLocations, type TokenLocation } from './jwt/extract.ts';
import { resolveUpstreamConnection } from './upstream-options.ts';
import { RetryPolicy, Route } from '../config/schema/routes.ts';
import { defaultsOf } from '../config/schema/defaults.ts';

/** Declared on the schema fields (src/config/schema/routes.ts). */
const ROUTE = defaultsOf(Route, ['timeout', 'idleTimeout']);
const STICKY = defaultsOf(Route.properties.sticky, ['cookieMaxAge']);
const WEB_SOCKET = defaultsOf(Route.properties.webSocket, ['idleTimeout']);
const RETRY = defaultsOf(RetryPolicy, ['budgetPercent', 'minRetryConcurrency']);

export interface CompiledCluster {
  readonly name: string;
  readonly balancer: Balancer;
  readonly hashOn: { header?: string; cookie?: string } | null;
  /** HTTP/2 upstreams (h2, h2c) answer gRPC: statuses are read from headers and trailers. */
  readonly h2: boolean;
  /** Requests and retries in flight, for the retry budget; shared by every table that names the cluster. */
  readonly load: ClusterLoad;
}

export interface RetryPolicy {
  attempts: number;
  connectFailure: boolean;
  reset: boolean;
  timeout: boolean;
  statuses: ReadonlySet<number>;
  /** gRPC status codes retried when they come in a Trailers-Only answer (before any message). */
  grpcCodes: ReadonlySet<number>;
  budgetRatio: number;
  minConcurrency: number;
  perTryTimeoutMs: number;
}

export interface RouteClusterStats {
  readonly cluster: CompiledCluster;
  readonly byCode: Map<number, { inc(): void }>;
  readonly duration: { observe(v: number): void };
  readonly retries: { inc(): void };
}

export interface CompiledRoute {
  readonly name: string;
  readonly split: WeightedSplit<RouteClusterStats>;
  readonly sticky: { cookie: string | null; header: string | null; cookieAttributes: string } | null;
  readonly overrideHeader: string | null;
  readonly retry: RetryPolicy | null;
  readonly timeoutMs: number;
  readonly firstByteTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly rewriteHost: string | null;
  readonly rewritePrefix: { from: string; to: string } | null;
  readonly setRequestHeaders: readonly [string, string][];
  readonly removeRequestHeaders: ReadonlySet<string>;
  readonly setResponseHeaders: readonly [string, string][];
  readonly removeResponseHeaders: ReadonlySet<string>;
  /**
   * setResponseHeaders as ready-made field lines (`name: value\r\n`...) for the
   * native engine's response head; null when a value could split the message or
   * a name is framing (the checked path then handles, and refuses, it).
   */
  readonly setResponseLines?: string | null;
  readonly auth: unknown;
  readonly rateLimit: RouteRateLimiter | null;
  /** The route's own escaped-slash policy (null: the listener's). */
  readonly escapedSlashes: 'keep' | 'reject' | null;
  /** Upgrade (WebSocket) requests: where their token is (null: the providers' own locations), idle timeout (0: none). */
  readonly webSocket: { readonly tokenFrom: readonly TokenLocation[] | null; readonly idleTimeoutMs: number };
}

/** The data plane's view of one snapshot: everything precompiled, nothing parsed per request. */
export interface EdgeTable {
  readonly version: number;
  readonly routes: RouteTable<CompiledRoute>;
  readonly clusters: ReadonlyMap<string, CompiledCluster>;
  /** Some route has a rate limit: the native engine then routes a request from its head (rate-limit/head-refusal.ts). */
  readonly rateLimited: boolean;
}

/** State the data plane keeps beside its snapshots (see cluster-load.ts, rate-limit/counters.ts); without it every table starts from zero. */
export interface EdgeState {
  readonly clusterLoads: ClusterLoads;
  readonly rateLimits: RateLimitStates;
}

export function compileEdgeTable(config: Config, version: number, rng: Rng, auth?: RequestAuthenticator, state?: EdgeState): EdgeTable {
  const st = state ?? { clusterLoads: new ClusterLoads(), rateLimits: new RateLimitStates({ clock: systemClock }) };
  const clusters = new Map<string, CompiledCluster>();
  for (const c of config.clusters) clusters.set(c.name, compileCluster(c, rng, st.clusterLoads));
  const routes = config.routes.map((r) => ({ config: r, route: compileRoute(r, clusters, auth, st.rateLimits) }));
  return { version, routes: new RouteTable(routes), clusters, rateLimited: routes.some((r) => r.route.rateLimit !== null) };
}

function compileCluster(c: ClusterConfig, rng: Rng, loads: ClusterLoads): CompiledCluster {
  const connection = resolveUpstreamConnection(c);
  const hashOn = c.hashOn ? { ...(c.hashOn.header ? { header: c.hashOn.header.toLowerCase() } : {}), ...(c.hashOn.cookie ? { cookie: c.hashOn.cookie } : {}) } : null;
  return { name: c.name, balancer: createBalancer(connection.loadBalancer, rng), hashOn, load: loads.get(c.name), h2: connection.protocol !== 'http1' };
}

function compileRoute(r: RouteConfig, clusters: Map<string, CompiledCluster>, auth: RequestAuthenticator | undefined, rateLimits: RateLimitStates): CompiledRoute {
  const split = new WeightedSplit(
    r.split.map((s) => {
      const cluster = clusters.get(s.cluster)!;
      return {
        name: s.cluster,
        weight: s.weight,
        cluster: {
          cluster,
          byCode: new Map(),
          duration: edgeMetrics.duration.labels(r.name, s.cluster),
          retries: edgeMetrics.retries.labels(r.name, s.cluster),
        },
      };
    }),
  );
  const setResponseHeaders = Object.entries(r.responseHeaders?.set ?? {}).map(([k, v]) => [k.toLowerCase(), v] as [string, string]);
  const timeoutMs = parseDuration(r.timeout ?? ROUTE.timeout);
  const maxAge = Math.round(parseDuration(r.sticky?.cookieMaxAge ?? STICKY.cookieMaxAge) / 1000);
  return {
    name: r.name,
    split,
    sticky: r.sticky
      ? { cookie: r.sticky.cookie ?? null, header: r.sticky.header?.toLowerCase() ?? null, cookieAttributes: `; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax` }
      : null,
    overrideHeader: r.override?.header.toLowerCase() ?? null,
    retry: r.retries ? compileRetry(r.retries) : null,
    timeoutMs,
    firstByteTimeoutMs: r.firstByteTimeout ? parseDuration(r.firstByteTimeout) : timeoutMs,
    idleTimeoutMs: parseDuration(r.idleTimeout ?? ROUTE.idleTimeout),
    rewriteHost: r.rewrite?.host ?? null,
    rewritePrefix: r.rewrite?.prefix !== undefined && r.match.path && 'prefix' in r.match.path ? { from: r.match.path.prefix, to: r.rewrite.prefix } : null,
    setRequestHeaders: Object.entries(r.requestHeaders?.set ?? {}).map(([k, v]) => [k.toLowerCase(), v] as [string, string]),
    removeRequestHeaders: new Set([
      ...(r.requestHeaders?.remove ?? []).map((h) => h.toLowerCase()),
      // Claim headers are the gateway's to set: a client must not be able to send its own, on any route.
      ...(!r.auth && auth?.protectedHeaders ? auth.protectedHeaders().map((h) => h.toLowerCase()) : []),
    ]),
    setResponseHeaders,
    setResponseLines: fieldLinesOrNull(setResponseHeaders),
    removeResponseHeaders: new Set((r.responseHeaders?.remove ?? []).map((h) => h.toLowerCase())),
    auth: r.auth ? compileAuth(r, auth) : null,
    rateLimit: r.rateLimit ? new RouteRateLimiter(r.name, r.rateLimit, rateLimits) : null,
    escapedSlashes: r.escapedSlashes ?? null,
    webSocket: {
      tokenFrom: r.webSocket?.tokenFrom ? compileLocations(r.webSocket.tokenFrom) : null,
      idleTimeoutMs: parseDuration(r.webSocket?.idleTimeout ?? WEB_SOCKET.idleTimeout),
    },
  };
}

/** Names a route may not set on the fast path: they decide the response's framing. */
const FRAMING_NAMES = new Set(['content-length', 'transfer-encoding', 'connection']);

/** Header pairs as field lines, checked once here; null when one needs the per-request checks. */
function fieldLinesOrNull(pairs: readonly [string, string][]): string | null {
  let lines = '';
  for (const [k, v] of pairs) {
    if (FRAMING_NAMES.has(k) || /[\r\n\0]/.test(k) || /[\r\n\0]/.test(v)) return null;
    lines += `${k}: ${v}\r\n`;
  }
  return lines;
}

function compileAuth(r: RouteConfig, auth: RequestAuthenticator | undefined): unknown {
  // Fail closed: a route that asks for auth is never served open.
  if (!auth) throw new Error(`route "${r.name}" requires authentication but no JWT providers are configured`);
  return auth.compile(r.auth);
}

function compileRetry(p: NonNullable<RouteConfig['retries']>): RetryPolicy {
  const on = new Set(p.on ?? ['connect-failure', 'reset']);
  const statuses = new Set<number>();
  for (const o of on) {
    if (/^[0-9]{3}$/.test(o)) statuses.add(Number(o));
    if (o === 'gateway-error') [502, 503, 504].forEach((s) => statuses.add(s));
    if (o === '5xx') for (let s = 500; s < 600; s++) statuses.add(s);
  }
  const grpcCodes = new Set([...on].filter((o) => GRPC_RETRY_NAMES[o] !== undefined).map((o) => GRPC_RETRY_NAMES[o]!));
  const gatewayLike = on.has('gateway-error') || on.has('5xx');
  return {
    attempts: p.attempts,
    connectFailure: on.has('connect-failure') || gatewayLike,
    reset: on.has('reset') || on.has('5xx'),
    timeout: on.has('timeout') || gatewayLike,
    statuses,
    grpcCodes,
    budgetRatio: (p.budgetPercent ?? RETRY.budgetPercent) / 100,
    minConcurrency: p.minRetryConcurrency ?? RETRY.minRetryConcurrency,
    perTryTimeoutMs: p.perTryTimeout ? parseDuration(p.perTryTimeout) : 0,
  };
}
