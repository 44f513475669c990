import { Type, type Static } from '@sinclair/typebox';
import { Obj, Name } from './common.ts';
import { Listener } from './listeners.ts';
import { Cluster } from './clusters.ts';
import { Route } from './routes.ts';
import { Jwt } from './jwt.ts';
import { Admin } from './admin.ts';
import { Dns } from './dns.ts';
import { Gossip } from './gossip.ts';
import { Health } from './health.ts';
import { Store } from './store.ts';
import { Unit } from './units.ts';
import { AccessLog } from './access-log.ts';
import { Drain } from './drain.ts';

export const ConfigSchema = Obj(
  {
    $schema: Type.Optional(Type.String()),
    version: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'the file\'s own version; persisted admin changes win only when newer' })),
    node: Obj({
      id: Name('this gateway\'s unique id'),
      region: Name('the region this gateway serves'),
    }),
    listeners: Type.Array(Listener, { default: [] }),
    clusters: Type.Array(Cluster, { default: [] }),
    routes: Type.Array(Route, { default: [] }),
    jwt: Type.Optional(Jwt),
    admin: Type.Optional(Admin),
    dns: Type.Optional(Dns),
    gossip: Type.Optional(Gossip),
    health: Type.Optional(Health),
    logging: Type.Optional(Obj({
      level: Type.Optional(Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' })),
      accessLog: Type.Optional(AccessLog),
    })),
    drain: Type.Optional(Drain),
    units: Type.Optional(Type.Array(Unit, { description: 'deployment units: services whose colors are containers the gateway starts (release deploy)' })),
    workers: Type.Optional(Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: 256 })], { description: 'data-plane worker processes; default 1 (in the main process)' })),
    store: Type.Optional(Store),
    watch: Type.Optional(Type.Boolean({ default: false, description: 're-read the config file when it changes (like SIGHUP; debounced, follows a symlink swap)' })),
    engine: Type.Optional(Type.Union([Type.Literal('node'), Type.Literal('native')], { default: 'native', description: 'HTTP/1.1 data-plane engine: native (default: edgeplane\'s own RFC 9112 codec on raw sockets) or node (node:http + undici, the reference); see docs/engine.md; read at start' })),
  },
  { $id: 'https://edgeplane.dev/schema/edgeplane.schema.json', title: 'edgeplane configuration' },
);

export type Config = Static<typeof ConfigSchema>;
export type ListenerConfig = Config['listeners'][number];
export type ClusterConfig = Config['clusters'][number];
export type RouteConfig = Config['routes'][number];
export type JwtConfig = NonNullable<Config['jwt']>;
export type DnsConfig = NonNullable<Config['dns']>;
export type GossipConfig = NonNullable<Config['gossip']>;
export type AdminConfig = NonNullable<Config['admin']>;
export type HealthConfig = NonNullable<Config['health']>;
export type StoreConfig = NonNullable<Config['store']>;
export type EtcdStoreConfig = NonNullable<StoreConfig['etcd']>;
export type UnitConfig = NonNullable<Config['units']>[number];
