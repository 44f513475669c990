#!/usr/bin/env node
// Regenerates the development JWT signing keys and their public JWKS.
// Development only: the private keys are public in this repository.
//   certs-dev/jwt/es256.key.pem   ES256 (P-256) private key, kid dev-es256 (what `edgeplane token` signs with)
//   certs-dev/jwt/rs256.key.pem   RS256 (2048-bit) private key, kid dev-rs256
//   certs-dev/jwt/*.pub.pem       the public halves (for `publicKey: { file }`)
//   certs-dev/jwks.json           both public keys as a JWKS (what the demo's `jwks: { file }` reads)
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const keys = [
  { kid: 'dev-es256', alg: 'ES256', file: 'es256', pair: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }) },
  { kid: 'dev-rs256', alg: 'RS256', file: 'rs256', pair: () => generateKeyPairSync('rsa', { modulusLength: 2048 }) },
];
const jwks = { keys: [] };
for (const k of keys) {
  const { privateKey, publicKey } = k.pair();
  writeFileSync(join(here, `${k.file}.key.pem`), privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  writeFileSync(join(here, `${k.file}.pub.pem`), publicKey.export({ format: 'pem', type: 'spki' }));
  jwks.keys.push({ ...publicKey.export({ format: 'jwk' }), kid: k.kid, alg: k.alg, use: 'sig' });
}
writeFileSync(join(here, '..', 'jwks.json'), JSON.stringify(jwks, null, 2) + '\n');
console.log(`wrote ${here}/{es256,rs256}.{key,pub}.pem and ${join(here, '..', 'jwks.json')}`);
