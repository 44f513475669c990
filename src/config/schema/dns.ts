import { Type } from '@sinclair/typebox';
import { Obj, Name, Address } from './common.ts';

export const Soa = Obj({
  mname: Type.String(),
  rname: Type.String(),
  serial: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295 })),
  refresh: Type.Integer({ minimum: 0 }),
  retry: Type.Integer({ minimum: 0 }),
  expire: Type.Integer({ minimum: 0 }),
  minimum: Type.Integer({ minimum: 0 }),
});

export const StaticRecord = Obj({
  name: Type.String({ description: 'relative to the origin; @ for the apex' }),
  type: Type.String({ pattern: '^[A-Z]+$' }),
  value: Type.String(),
  ttl: Type.Optional(Type.Integer({ minimum: 0 })),
});

export const GtmRegion = Obj({
  region: Name(),
  vips: Type.Array(Type.String(), { minItems: 1 }),
  weight: Type.Integer({ minimum: 0 }),
});

export const GtmName = Obj({
  name: Type.String(),
  ttl: Type.Optional(Type.Integer({ minimum: 0 })),
  regions: Type.Array(GtmRegion, { minItems: 1 }),
});

export const Zone = Obj({
  origin: Type.String(),
  soa: Soa,
  nameservers: Type.Array(Type.String(), { minItems: 1 }),
  records: Type.Optional(Type.Array(StaticRecord)),
  gtm: Type.Optional(Type.Array(GtmName)),
});

export const Dns = Obj({
  listen: Type.Array(Address(), { minItems: 1 }),
  zones: Type.Array(Zone),
  geo: Type.Optional(Obj({
    networks: Type.Optional(Type.Array(Obj({ cidr: Type.String(), region: Name() }))),
  })),
});
