import { Type } from '@sinclair/typebox';
import { Obj, Address } from './common.ts';

export const Admin = Obj({
  address: Type.Optional(Address('host:port of the admin API, /metrics and the dashboard', '127.0.0.1:9901')),
  token: Type.Optional(Type.String({ description: 'bearer token for /v1; required on a non-loopback address' })),
  stateDir: Type.Optional(Type.String({ default: 'state', description: 'where versions are persisted (relative to the config file)' })),
  allowedHosts: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\\.?$', maxLength: 253 }), { description: 'host names (no port) the admin listener answers to besides IP addresses and localhost, e.g. the name a reverse proxy or a Prometheus scrape uses; any other Host header is refused with 403 (DNS rebinding)' })),
  history: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 20, description: 'how many config versions are kept for rollback' })),
});
