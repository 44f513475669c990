import { Type } from '@sinclair/typebox';
import { Obj, Address } from './common.ts';

export const Gossip = Obj({
  bind: Address('UDP and TCP bind address, default 0.0.0.0:7946'),
  seeds: Type.Optional(Type.Array(Address())),
  keys: Type.Optional(Type.Array(Type.String(), { description: 'base64 AES keys; the first encrypts' })),
  profile: Type.Optional(Type.Union([Type.Literal('lan'), Type.Literal('wan'), Type.Literal('local')], { default: 'lan' })),
});
