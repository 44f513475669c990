import { Type } from '@sinclair/typebox';
import { Obj, Name, Duration } from './common.ts';

export const JwtProvider = Obj({
  name: Name(),
  issuer: Type.String({ minLength: 1 }),
  audiences: Type.Optional(Type.Array(Type.String())),
  jwks: Obj({
    file: Type.Optional(Type.String()),
    url: Type.Optional(Type.String()),
    cacheTtl: Type.Optional(Duration('default 10m')),
  }),
  claimsToHeaders: Type.Optional(Type.Array(Obj({ claim: Type.String(), header: Type.String() }))),
});

export const Jwt = Obj({
  providers: Type.Array(JwtProvider),
});
