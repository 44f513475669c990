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

export const Listener = Obj({
  name: Name(),
  address: Address('host:port to bind, e.g. 127.0.0.1:8443 or [::]:443'),
  protocol: Type.Union([Type.Literal('http'), Type.Literal('https')]),
  tls: Type.Optional(ListenerTls),
  maxHeaderSize: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1048576, description: 'bytes; larger requests get 431', default: 16384 })),
  requestTimeout: Type.Optional(Duration('time to receive a whole request from the client (slowloris guard), default 30s')),
  keepAliveTimeout: Type.Optional(Duration('idle keep-alive connection timeout, default 60s')),
  headersTimeout: Type.Optional(Duration('time to receive the request headers, default 15s')),
});
