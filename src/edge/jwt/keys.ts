import { createPublicKey, type KeyObject, type JsonWebKey } from 'node:crypto';
import { JwksError } from './errors.ts';

/** What kind of key each algorithm needs (RFC 7518 §3.1, RFC 8037). */
const ALG_KEY: Record<string, { kty: 'RSA' | 'EC' | 'OKP' | 'oct'; crv?: readonly string[] }> = {
  RS256: { kty: 'RSA' }, RS384: { kty: 'RSA' }, RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' }, PS384: { kty: 'RSA' }, PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: ['P-256'] }, ES384: { kty: 'EC', crv: ['P-384'] }, ES512: { kty: 'EC', crv: ['P-521'] },
  EdDSA: { kty: 'OKP', crv: ['Ed25519', 'Ed448'] }, Ed25519: { kty: 'OKP', crv: ['Ed25519'] },
  HS256: { kty: 'oct' }, HS384: { kty: 'oct' }, HS512: { kty: 'oct' },
};

/** Largest JWKS accepted; real ones are a few KB. */
export const MAX_JWKS_BYTES = 1024 * 1024;
const MAX_JWKS_KEYS = 100;
/** jose (and NIST) refuse RSA keys under 2048 bits; skipping them at load gives a clear log line instead of 401s. */
const MIN_RSA_BITS = 2048;

/**
 * One verification key. Identity is by object: a key kept across JWKS
 * refreshes is the same object, and a key that disappeared is marked
 * `revoked`, which invalidates every cached token it verified.
 */
export class VerifyKey {
  readonly kid: string | undefined;
  readonly kty: 'RSA' | 'EC' | 'OKP' | 'oct';
  readonly crv: string | undefined;
  /** The JWK's own `alg`, when it pins one. */
  readonly alg: string | undefined;
  readonly key: KeyObject | Uint8Array;
  /** Stable fingerprint of the key material + metadata, to recognise the same key in a refreshed set. */
  readonly id: string;
  revoked = false;

  constructor(init: { kid?: string | undefined; kty: VerifyKey['kty']; crv?: string | undefined; alg?: string | undefined; key: KeyObject | Uint8Array; id: string }) {
    this.kid = init.kid;
    this.kty = init.kty;
    this.crv = init.crv;
    this.alg = init.alg;
    this.key = init.key;
    this.id = init.id;
  }

  /** Whether this key may verify a token signed with `alg`. */
  accepts(alg: string): boolean {
    const need = ALG_KEY[alg];
    if (!need || need.kty !== this.kty) return false;
    if (need.crv && (this.crv === undefined || !need.crv.includes(this.crv))) return false;
    return this.alg === undefined || this.alg === alg;
  }
}

/** An immutable set of keys with a kid index. */
export class KeySet {
  readonly keys: readonly VerifyKey[];
  /** True for single-key sources (PEM, secret): the token's kid is not used to select. */
  readonly ignoreKid: boolean;
  readonly #byKid = new Map<string, VerifyKey[]>();

  constructor(keys: VerifyKey[], ignoreKid = false) {
    this.keys = keys;
    this.ignoreKid = ignoreKid;
    for (const k of keys) {
      if (k.kid === undefined) continue;
      const list = this.#byKid.get(k.kid);
      if (list) list.push(k);
      else this.#byKid.set(k.kid, [k]);
    }
  }

  /**
   * Keys that may have signed a token with this alg and kid. With a kid only
   * keys of that kid; without one every compatible key (tried in order).
   */
  candidates(alg: string, kid: string | undefined): VerifyKey[] {
    const pool = kid === undefined || this.ignoreKid ? this.keys : this.#byKid.get(kid) ?? [];
    const out: VerifyKey[] = [];
    for (const k of pool) if (k.accepts(alg)) out.push(k);
    return out;
  }

  hasKid(kid: string): boolean {
    return this.#byKid.has(kid);
  }

  /**
   * The successor set: keys present in both are carried over as the same
   * objects (their cached tokens stay valid), keys gone are revoked.
   */
  replaceWith(next: KeySet): KeySet {
    const old = new Map(this.keys.map((k) => [k.id, k]));
    const merged = next.keys.map((k) => old.get(k.id) ?? k);
    const keep = new Set(merged);
    for (const k of this.keys) if (!keep.has(k)) k.revoked = true;
    return new KeySet(merged, next.ignoreKid);
  }
}

export interface ParsedJwks {
  set: KeySet;
  /** Why individual keys were left out (for logs); never contains key material. */
  skipped: string[];
}

/**
 * Parses a JWKS document into verification keys. Keys that are private,
 * symmetric, encryption-only, malformed or too weak are skipped; a document
 * that is not a JWKS, or in which no key is usable, is an error, so that a
 * broken response never replaces a working key set.
 */
export function parseJwks(doc: unknown, allowed: readonly string[]): ParsedJwks {
  if (doc === null || typeof doc !== 'object' || !Array.isArray((doc as { keys?: unknown }).keys)) {
    throw new JwksError('invalid', 'not a JSON Web Key Set (no "keys" array)');
  }
  const list = (doc as { keys: unknown[] }).keys;
  if (list.length > MAX_JWKS_KEYS) throw new JwksError('invalid', `JWKS has ${list.length} keys, more than ${MAX_JWKS_KEYS}`);
  const keys: VerifyKey[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  list.forEach((jwk, i) => {
    const label = `keys[${i}]${jwk && typeof jwk === 'object' && typeof (jwk as JsonWebKey).kid === 'string' ? ` (kid ${JSON.stringify((jwk as JsonWebKey).kid)})` : ''}`;
    try {
      const key = keyFromJwk(jwk, allowed);
      if (seen.has(key.id)) return;
      seen.add(key.id);
      keys.push(key);
    } catch (err) {
      skipped.push(`${label}: ${(err as Error).message}`);
    }
  });
  if (keys.length === 0) throw new JwksError('invalid', `JWKS has no usable signing key${skipped.length ? ` (${skipped.join('; ')})` : ''}`);
  return { set: new KeySet(keys), skipped };
}

function keyFromJwk(value: unknown, allowed: readonly string[]): VerifyKey {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
  const jwk = value as Record<string, unknown>;
  const { kty, kid, alg, use, crv } = jwk;
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') throw new Error(`kty ${JSON.stringify(kty)} is not a public signing key type`);
  if (kid !== undefined && typeof kid !== 'string') throw new Error('kid is not a string');
  if (alg !== undefined && typeof alg !== 'string') throw new Error('alg is not a string');
  if (use !== undefined && use !== 'sig') throw new Error(`use ${JSON.stringify(use)} is not "sig"`);
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) throw new Error('key_ops does not include "verify"');
  if (jwk.d !== undefined || jwk.p !== undefined || jwk.k !== undefined) throw new Error('private or secret key material in a public key set');
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (err) {
    throw new Error(`cannot import: ${(err as Error).message}`);
  }
  const key = new VerifyKey({ kid, kty, crv: typeof crv === 'string' ? crv : undefined, alg, key: keyObject, id: fingerprint(keyObject, kid, alg) });
  checkUsable(key, keyObject, allowed);
  return key;
}

/** A PEM (SPKI) public key; its type decides which algorithms it can verify. */
export function keyFromPem(pem: string, allowed: readonly string[]): VerifyKey {
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey(pem);
  } catch (err) {
    throw new Error(`not a PEM public key: ${(err as Error).message}`);
  }
  if (keyObject.type !== 'public') throw new Error('not a public key');
  const jwk = keyObject.export({ format: 'jwk' });
  const kty = jwk.kty as VerifyKey['kty'];
  const key = new VerifyKey({ kty, crv: jwk.crv, key: keyObject, id: fingerprint(keyObject, undefined, undefined) });
  checkUsable(key, keyObject, allowed);
  return key;
}

/** An HMAC secret (UTF-8 bytes). Its id is constant: a static source never rotates, and the id must not reveal the secret. */
export function keyFromSecret(secret: string): VerifyKey {
  return new VerifyKey({ kty: 'oct', key: new Uint8Array(Buffer.from(secret, 'utf8')), id: 'secret' });
}

function checkUsable(key: VerifyKey, keyObject: KeyObject, allowed: readonly string[]): void {
  if (key.kty === 'RSA' && (keyObject.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new Error(`RSA key shorter than ${MIN_RSA_BITS} bits`);
  }
  if (!allowed.some((a) => key.accepts(a))) throw new Error(`no allowed algorithm (${allowed.join(', ')}) fits this ${key.kty}${key.crv ? ` ${key.crv}` : ''} key${key.alg ? ` with alg ${key.alg}` : ''}`);
}

function fingerprint(keyObject: KeyObject, kid: unknown, alg: unknown): string {
  const jwk = keyObject.export({ format: 'jwk' }) as Record<string, unknown>;
  const material = Object.keys(jwk).sort().map((k) => `${k}=${String(jwk[k])}`).join('&');
  return `${String(kid ?? '')}|${String(alg ?? '')}|${material}`;
}
