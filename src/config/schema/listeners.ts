import { Type } from '@sinclair/typebox';
import { Obj, Name, Address, Duration } from './common.ts';

export const TlsCertificate = Obj({
  cert: Type.String({ description: 'PEM certificate chain file; its SANs select it by SNI' }),
  key: Type.String({ description: 'PEM private key file' }),
});

export const ListenerTls = Obj({
  certificates: Type.Array(TlsCertificate, { minItems: 1, description: 'the first is the default when SNI matches none' }),
  minVersion: Type.Optional(Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], { default: 'TLSv1.2' })),
  http2: Type.Optional(Type.Boolean({ description: 'offer h2 by ALPN (HTTP/1.1 stays available)', default: true })),
  ciphers: Type.Optional(Type.String({ description: 'OpenSSL cipher list for TLS 1.2' })),
  reload: Type.Optional(Type.Boolean({ description: 'reload certificate files when they change', default: true })),
});

/** How a request path is canonicalised before routing (docs/security.md, docs/routing.md). */
export const PathNormalization = Obj({
  normalize: Type.Optional(Type.Boolean({ description: 'RFC 3986 §6: decode %XX of unreserved characters, resolve . and .. segments, \\ as /', default: true })),
  mergeSlashes: Type.Optional(Type.Boolean({ description: 'merge // into /', default: true })),
  escapedSlashes: Type.Optional(Type.Union([Type.Literal('keep'), Type.Literal('reject'), Type.Literal('unescape')], {
    description: '%2F / %5C in a path: keep (data, forwarded as is), reject (400, unless the matched route says keep), unescape (decoded to / before routing)',
    default: 'reject',
  })),
});

/** HTTP/2 session limits (flood protection per the 2019 h2 DoS, 2023 rapid-reset and 2024 CONTINUATION advisories). */
export const Http2Limits = Obj({
  maxConcurrentStreams: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'SETTINGS_MAX_CONCURRENT_STREAMS', default: 100 })),
  maxResetsPerSecond: Type.Optional(Type.Integer({ minimum: 1, description: 'streams a client may cancel per second (rapid reset) before the session gets GOAWAY', default: 100 })),
  maxSettingsPerSecond: Type.Optional(Type.Integer({ minimum: 1, description: 'SETTINGS frames a client may send per second before the session is closed', default: 20 })),
  maxPingsPerSecond: Type.Optional(Type.Integer({ minimum: 1, description: 'PING frames a client may send per second before the session is closed', default: 20 })),
  maxInvalidFrames: Type.Optional(Type.Integer({ minimum: 0, description: 'protocol errors tolerated per session', default: 100 })),
});

export const Listener = Obj({
  name: Name(),
  address: Address('host:port to bind, e.g. 127.0.0.1:8443 or [::]:443'),
  protocol: Type.Union([Type.Literal('http'), Type.Literal('https')]),
  tls: Type.Optional(ListenerTls),
  maxHeaderSize: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1048576, description: 'bytes of request headers (h1 and h2 alike); larger requests get 431', default: 16384 })),
  maxHeaderCount: Type.Optional(Type.Integer({ minimum: 8, maximum: 2000, description: 'header fields per request (h1 and h2 alike); more get 431', default: 100 })),
  requestTimeout: Type.Optional(Duration('time to receive a whole request from the client (slowloris guard)', '30s')),
  keepAliveTimeout: Type.Optional(Duration('idle timeout: an h1 keep-alive connection or an h2 session with no open stream is closed after it', '60s')),
  headersTimeout: Type.Optional(Duration('time to receive the request headers (h1) or the first request (h2)', '15s')),
  handshakeTimeout: Type.Optional(Duration('time to complete the TLS handshake', '10s')),
  maxConnectionsPerClient: Type.Optional(Type.Integer({ minimum: 1, description: 'open connections one client address may hold on this listener; more are closed at once', default: 512 })),
  http2: Type.Optional(Http2Limits),
  paths: Type.Optional(PathNormalization),
  headersWithUnderscores: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('drop'), Type.Literal('reject')], {
    description: 'request headers whose name has "_": allow, drop (like nginx) or reject with 400; the underscore spelling of a header the gateway owns or protects is always dropped',
    default: 'drop',
  })),
});
