import { Type } from '@sinclair/typebox';
import { Obj, Address, Duration } from './common.ts';

export const Gossip = Obj({
  bind: Address('UDP and TCP bind address, e.g. 0.0.0.0:7946 (port 7946 when written without one)'),
  seeds: Type.Optional(Type.Array(Address(), { description: 'host:port of members to join through (push-pull); retried until one answers' })),
  keys: Type.Optional(Type.Array(Type.String(), { description: 'base64 AES keys (16, 24 or 32 bytes); the first encrypts, all decrypt. Required on a non-loopback bind' })),
  profile: Type.Optional(Type.Union([Type.Literal('lan'), Type.Literal('wan'), Type.Literal('local')], { default: 'lan', description: 'protocol timings: lan and wan are memberlist\'s DefaultLANConfig and DefaultWANConfig; local is fast, for tests on one machine' })),
  label: Type.Optional(Type.String({ maxLength: 255, default: 'edgeplane', description: 'cluster label, sent with every message and authenticated with it; members with another label are ignored' })),
  advertise: Type.Optional(Address('address other members reach this one at, when it differs from bind (required when bind is 0.0.0.0 or ::)')),
  maxClockSkew: Type.Optional(Duration('replay window: an encrypted message stamped further than this from the local clock is dropped, and every message is accepted once; members need clocks within it (NTP)', '30s')),
  maxConnections: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 128, description: 'inbound push-pull (TCP) connections open at once; more are closed on accept' })),
  maxConnectionsPerClient: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 8, description: 'inbound push-pull (TCP) connections open at once from one IP address; more are closed on accept' })),
});
