import { Type } from '@sinclair/typebox';
import { Obj, Duration } from './common.ts';

/** `store.etcd`: the fleet's shared store. */
export const EtcdStore = Obj({
  endpoints: Type.Array(Type.String({ pattern: '^https?://[^/\\s]+/?$', description: 'http://host:port or https://host:port of an etcd member' }), { minItems: 1, description: 'etcd client URLs; list every member' }),
  prefix: Type.String({ pattern: '^/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$', description: 'key prefix of this fleet, e.g. /edgeplane/prod; fleets sharing an etcd use different prefixes' }),
  tls: Type.Optional(
    Obj({
      ca: Type.String({ description: 'CA certificate file (PEM) that signed the etcd members\' certificates' }),
      cert: Type.Optional(Type.String({ description: 'client certificate file (PEM), for etcd --client-cert-auth' })),
      key: Type.Optional(Type.String({ description: 'client key file (PEM)' })),
    }),
  ),
  username: Type.Optional(Type.String({ minLength: 1, description: 'etcd user (with password); never stored in the shared config' })),
  password: Type.Optional(Type.String({ description: 'etcd password; a secret: give it as ${ENV}' })),
  dialTimeout: Type.Optional(Duration('how long the first connection may take at start before the node serves its last-known-good config', '2s')),
  requestTimeout: Type.Optional(Duration('deadline of one etcd request', '2s')),
  leaseTtl: Type.Optional(Duration('lease of the release leader key and of node status; a dead node is noticed within this', '5s')),
  keepaliveInterval: Type.Optional(Duration('gRPC keepalive ping interval (etcd refuses pings more often than its --grpc-keepalive-min-time, 5s by default there)', '5s')),
  keepaliveTimeout: Type.Optional(Duration('a connection whose ping is not answered within this is dropped and redialled', '2s')),
  probeInterval: Type.Optional(Duration('how often the node reads the store head (reachability, catch-up after a missed watch, a wiped etcd)', '1s')),
});

/**
 * Where the versioned config lives. Exactly one kind: `file` (one node's state
 * directory, the default when the section is absent) or `etcd` (shared by a
 * fleet: a write through any node is served by every node).
 */
export const Store = Obj(
  {
    file: Type.Optional(
      Obj({
        dir: Type.Optional(Type.String({ description: 'the state directory, default admin.stateDir or ./state' })),
      }),
    ),
    etcd: Type.Optional(EtcdStore),
  },
  { minProperties: 1, maxProperties: 1, description: 'exactly one of file or etcd' },
);
