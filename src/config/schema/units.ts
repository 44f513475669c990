import { Type } from '@sinclair/typebox';
import { Obj, Name, Duration } from './common.ts';

const Labels = (description: string, minProperties = 0) =>
  Type.Record(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$' }), Type.String({ maxLength: 1024 }), { description, minProperties });

const Socket = Type.String({
  minLength: 1,
  default: 'unix:///var/run/docker.sock',
  description: 'the Docker Engine API: unix:///var/run/docker.sock, Podman\'s unix:///run/podman/podman.sock, or http://host:port of a socket proxy',
});

/** `discovery: { docker: ... }` of a cluster. */
export const DockerDiscovery = Obj({
  socket: Type.Optional(Socket),
  labels: Labels('containers carrying every one of these labels are the cluster\'s endpoints', 1),
  port: Type.Integer({ minimum: 1, maximum: 65535, description: 'the port the service listens on (a container\'s edgeplane.port label overrides it)' }),
  network: Type.Optional(Type.String({ minLength: 1, default: 'bridge', description: 'host (the container shares the host\'s network) or the network whose container address to use' })),
  published: Type.Optional(Type.Boolean({ default: false, description: 'use the port published on the host instead of the container\'s network address' })),
  hostAddress: Type.Optional(Type.String({ minLength: 1, default: '127.0.0.1', description: 'the host\'s address for host networking and ports published on 0.0.0.0' })),
  resyncInterval: Type.Optional(Duration('full container list this often besides the event stream', '30s')),
});

export const ContainerHealthCheck = Obj({
  command: Type.Array(Type.String(), { minItems: 1, description: 'run inside the container (CMD form); exit 0 = healthy. {{port}} is replaced by the replica\'s port' }),
  interval: Type.Optional(Duration('between checks', '2s')),
  timeout: Type.Optional(Duration('per check', '2s')),
  retries: Type.Optional(Type.Integer({ minimum: 1, default: 3 })),
  startPeriod: Type.Optional(Duration('failures in this time do not count', '0s')),
});

/** `units[].template`: the containers of every deploy. */
export const UnitTemplate = Obj({
  image: Type.String({ minLength: 1, description: 'the image of the first deploy; every deploy names its own' }),
  command: Type.Optional(Type.Array(Type.String(), { description: 'arguments (CMD); {{port}} is replaced by the replica\'s port' })),
  entrypoint: Type.Optional(Type.Array(Type.String())),
  env: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String(), { description: 'PORT is set to the replica\'s port unless given' })),
  port: Type.Integer({ minimum: 1, maximum: 65535, description: 'the port the service listens on inside the container (host networking: colors[].hostPorts)' }),
  replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, default: 1 })),
  labels: Type.Optional(Labels('extra container labels')),
  network: Type.Optional(Type.String({ minLength: 1, default: 'bridge', description: 'host, bridge or a network name' })),
  publish: Type.Optional(Type.Boolean({ default: false, description: 'publish the port on hostAddress with a port the daemon picks' })),
  healthCheck: Type.Optional(ContainerHealthCheck),
  resources: Type.Optional(Obj({
    memory: Type.Optional(Type.String({ pattern: '^[0-9]+[kmg]?$', description: 'limit such as 256m' })),
    cpus: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1024 })),
    pids: Type.Optional(Type.Integer({ minimum: 1 })),
  })),
  stopTimeout: Type.Optional(Duration('SIGTERM to SIGKILL when a container is stopped', '10s')),
});

/** `units[].runtime`: where the unit's containers run. */
export const UnitRuntime = Obj({ socket: Type.Optional(Socket) });

/** A deployment unit: one service whose colors (clusters) are containers the gateway starts and removes itself. */
export const Unit = Obj({
  name: Name(),
  route: Name('the route whose split the unit\'s deploys move between its colors'),
  runtime: Type.Optional(UnitRuntime),
  colors: Type.Array(
    Obj({
      name: Name('blue, green, ...'),
      cluster: Name('the cluster of this color (discovery: docker, selecting this color\'s labels)'),
      hostPorts: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { minItems: 1, description: 'host networking: one port per replica' })),
    }),
    { minItems: 2, maxItems: 2, description: 'exactly two colors: the one serving and the one a deploy starts' },
  ),
  template: UnitTemplate,
  readinessTimeout: Type.Optional(Duration('how long new containers may take to be ready before the deploy fails', '2m')),
  drain: Type.Optional(Duration('after a successful deploy, how long the old color stays up at weight 0 before it is stopped', '5s')),
});
