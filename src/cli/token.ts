import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SignJWT, type JWTPayload } from 'jose';
import { parseDuration } from '../util/duration.ts';

const USAGE = `usage: edgeplane token [options]      mint a development JWT (prints it on stdout)

  --sub SUBJECT        sub claim (default alice)
  --aud AUDIENCE       aud claim, repeatable (default api.svc.plus)
  --scope SCOPE        a scope, repeatable; sent as the space-separated scope claim
  --iss ISSUER         iss claim (default https://auth.svc.plus/)
  --ttl DURATION       lifetime, e.g. 15m, 1h (default 1h)
  --claim NAME=VALUE   extra claim, repeatable; VALUE is JSON when it parses, else a string
  --key FILE           PKCS#8 PEM signing key (default certs-dev/jwt/es256.key.pem)
  --kid KID            kid header (default: the kid of the matching key in --jwks)
  --jwks FILE          JWKS to look the kid up in (default certs-dev/jwks.json)
  --secret SECRET      sign with HS256 and this secret instead of a key

Development only: the default key is public in this repository.`;

const CERTS = fileURLToPath(new URL('../../certs-dev/', import.meta.url));

/** `edgeplane token`: mints a token the demo's `main` provider accepts. */
export async function tokenCommand(args: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        sub: { type: 'string', default: 'alice' },
        aud: { type: 'string', multiple: true },
        scope: { type: 'string', multiple: true },
        iss: { type: 'string', default: 'https://auth.svc.plus/' },
        ttl: { type: 'string', default: '1h' },
        claim: { type: 'string', multiple: true },
        key: { type: 'string' },
        kid: { type: 'string' },
        jwks: { type: 'string' },
        secret: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    err.write(`edgeplane token: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  let ttlMs: number;
  try {
    ttlMs = parseDuration(values.ttl);
  } catch (e) {
    err.write(`edgeplane token: --ttl: ${(e as Error).message}\n`);
    return 2;
  }
  const claims: JWTPayload = {};
  for (const c of values.claim ?? []) {
    const eq = c.indexOf('=');
    if (eq <= 0) {
      err.write(`edgeplane token: --claim expects NAME=VALUE, got ${JSON.stringify(c)}\n`);
      return 2;
    }
    const raw = c.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: keep the string
    }
    claims[c.slice(0, eq)] = value;
  }
  const aud = values.aud ?? ['api.svc.plus'];
  if (values.scope && values.scope.length > 0) claims.scope = values.scope.join(' ');
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ ...claims })
    .setIssuer(values.iss)
    .setSubject(values.sub)
    .setAudience(aud.length === 1 ? aud[0]! : aud)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.max(1, Math.round(ttlMs / 1000)));

  try {
    if (values.secret !== undefined) {
      out.write(`${await jwt.setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(values.secret))}\n`);
      return 0;
    }
    const keyFile = values.key ?? `${CERTS}jwt/es256.key.pem`;
    const key = createPrivateKey(readFileSync(keyFile, 'utf8'));
    const alg = algorithmOf(key);
    const kid = values.kid ?? findKid(key, values.jwks ?? `${CERTS}jwks.json`);
    out.write(`${await jwt.setProtectedHeader({ alg, typ: 'JWT', ...(kid !== undefined ? { kid } : {}) }).sign(key)}\n`);
    return 0;
  } catch (e) {
    err.write(`edgeplane token: ${(e as Error).message}\n`);
    return 1;
  }
}

function algorithmOf(key: KeyObject): string {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return 'RS256';
  if (type === 'ed25519') return 'EdDSA';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ES256';
    if (curve === 'secp384r1') return 'ES384';
    if (curve === 'secp521r1') return 'ES512';
  }
  throw new Error(`unsupported signing key type ${type ?? 'unknown'}`);
}

/** The kid under which the key's public half is published, so the token verifies against that JWKS. */
function findKid(key: KeyObject, jwksFile: string): string | undefined {
  let doc: { keys?: { kid?: string }[] };
  try {
    doc = JSON.parse(readFileSync(jwksFile, 'utf8')) as typeof doc;
  } catch {
    return undefined;
  }
  const mine = createPublicKey(key).export({ format: 'der', type: 'spki' });
  for (const jwk of doc.keys ?? []) {
    try {
      const pub = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ format: 'der', type: 'spki' });
      if (pub.equals(mine)) return jwk.kid;
    } catch {
      // not a usable key: skip
    }
  }
  return undefined;
}
