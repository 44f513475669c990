import type { ListenerConfig } from '../config/schema/index.ts';
import { parseDuration } from '../util/duration.ts';
import { DEFAULT_PATH_POLICY, DEFAULT_REQUEST_POLICY, type RequestPolicy } from './normalize.ts';
import type { UnderscoreAction } from './request-headers.ts';
import { Listener, Http2Limits } from '../config/schema/listeners.ts';
import { defaultsOf } from '../config/schema/defaults.ts';

/** What a listener decides about the requests it accepts (compiled once per listener config). */
export interface ListenerRequestPolicy {
  readonly request: RequestPolicy;
  readonly underscores: UnderscoreAction;
  /** Bytes of request headers; node:http enforces it for h1, the proxy for h2. */
  readonly maxHeaderSize: number;
}

const LISTENER = defaultsOf(Listener, [
  'handshakeTimeout', 'headersTimeout', 'requestTimeout', 'keepAliveTimeout',
  'maxHeaderSize', 'maxHeaderCount', 'maxConnectionsPerClient', 'headersWithUnderscores',
]);
const H2 = defaultsOf(Http2Limits, ['maxConcurrentStreams', 'maxResetsPerSecond', 'maxSettingsPerSecond', 'maxPingsPerSecond', 'maxInvalidFrames']);

export const DEFAULT_LISTENER_POLICY: ListenerRequestPolicy = Object.freeze({ request: DEFAULT_REQUEST_POLICY, underscores: LISTENER.headersWithUnderscores, maxHeaderSize: LISTENER.maxHeaderSize });

/**
 * One set of connection limits for every listener kind (HTTP/1.1, TLS HTTP/1.1, h2).
 * The defaults are documented, with nginx's and Envoy's, in docs/security.md.
 */
export interface ConnectionLimits {
  readonly handshakeTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxHeaderSize: number;
  readonly maxHeaderCount: number;
  readonly maxConnectionsPerClient: number;
  readonly h2: {
    readonly maxConcurrentStreams: number;
    readonly maxResetsPerSecond: number;
    readonly maxSettingsPerSecond: number;
    readonly maxPingsPerSecond: number;
    readonly maxInvalidFrames: number;
  };
}

/** The limits' defaults, declared on the schema fields (src/config/schema/listeners.ts; compared with nginx and Envoy in docs/security.md). */
export const LIMIT_DEFAULTS = Object.freeze({ ...LISTENER, ...H2 });

export function connectionLimits(c: ListenerConfig): ConnectionLimits {
  const d = LIMIT_DEFAULTS;
  return {
    handshakeTimeoutMs: parseDuration(c.handshakeTimeout ?? d.handshakeTimeout),
    headersTimeoutMs: parseDuration(c.headersTimeout ?? d.headersTimeout),
    requestTimeoutMs: parseDuration(c.requestTimeout ?? d.requestTimeout),
    idleTimeoutMs: parseDuration(c.keepAliveTimeout ?? d.keepAliveTimeout),
    maxHeaderSize: c.maxHeaderSize ?? d.maxHeaderSize,
    maxHeaderCount: c.maxHeaderCount ?? d.maxHeaderCount,
    maxConnectionsPerClient: c.maxConnectionsPerClient ?? d.maxConnectionsPerClient,
    h2: {
      maxConcurrentStreams: c.http2?.maxConcurrentStreams ?? d.maxConcurrentStreams,
      maxResetsPerSecond: c.http2?.maxResetsPerSecond ?? d.maxResetsPerSecond,
      maxSettingsPerSecond: c.http2?.maxSettingsPerSecond ?? d.maxSettingsPerSecond,
      maxPingsPerSecond: c.http2?.maxPingsPerSecond ?? d.maxPingsPerSecond,
      maxInvalidFrames: c.http2?.maxInvalidFrames ?? d.maxInvalidFrames,
    },
  };
}

export function listenerRequestPolicy(c: ListenerConfig): ListenerRequestPolicy {
  const p = c.paths;
  return {
    request: {
      paths: p === undefined ? DEFAULT_PATH_POLICY : {
        normalize: p.normalize ?? DEFAULT_PATH_POLICY.normalize,
        mergeSlashes: p.mergeSlashes ?? DEFAULT_PATH_POLICY.mergeSlashes,
        escapedSlashes: p.escapedSlashes ?? DEFAULT_PATH_POLICY.escapedSlashes,
      },
      maxHeaderCount: c.maxHeaderCount ?? LIMIT_DEFAULTS.maxHeaderCount,
    },
    underscores: c.headersWithUnderscores ?? LISTENER.headersWithUnderscores,
    maxHeaderSize: c.maxHeaderSize ?? LIMIT_DEFAULTS.maxHeaderSize,
  };
}
