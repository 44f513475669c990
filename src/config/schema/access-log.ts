import { Type } from '@sinclair/typebox';
import { Obj } from './common.ts';

/** `logging.accessLog` in full. */
export const AccessLogSettings = Obj({
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('combined')], { default: 'json', description: 'json (one object per line) or nginx "combined"' })),
  path: Type.Optional(Type.String({ minLength: 1, description: 'file to append to (reopened on SIGUSR1, for logrotate); default stdout' })),
  sample: Type.Optional(Type.Number({ minimum: 0, maximum: 1, default: 1, description: 'share of requests logged; responses >= 500 are always logged' })),
  jwtSubject: Type.Optional(Type.Boolean({ default: false, description: 'log the verified JWT\'s `sub` (json: jwtSubject; combined: the remote user)' })),
  redactQuery: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'query parameters whose values are logged as [redacted], in addition to token, access_token, id_token, jwt, api_key, apikey, key, password, secret, signature, sig, code' })),
});

/** `logging.accessLog`: true (JSON lines on stdout), false (off) or the full settings. */
export const AccessLog = Type.Union([
  Type.Boolean(),
  AccessLogSettings,
], { default: false, description: 'access log: true (JSON on stdout), false, or { format, path, sample, jwtSubject, redactQuery }' });
