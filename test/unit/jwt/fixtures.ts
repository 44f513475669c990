/**
 * Shared helpers for the JWT tests: key pairs, token minting (valid and
 * deliberately broken), and a real loopback JWKS server whose behaviour a test
 * can switch (serve, garbage, hang, error status).
 */
import { createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, type JWTPayload } from 'jose';

export interface TestKey {
  kid: string;
  alg: 'ES256' | 'RS256' | 'PS256' | 'EdDSA';
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Public JWK with kid/alg/use. */
  jwk: Record<string, unknown>;
  publicPem: string;
}

export function makeKey(kid: string, alg: TestKey['alg'] = 'ES256'): TestKey {
  const pair =
    alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : alg === 'EdDSA' ? generateKeyPairSync('ed25519')
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  return { kid, alg, privateKey: pair.privateKey, publicKey: pair.publicKey, jwk, publicPem: pair.publicKey.export({ format: 'pem', type: 'spki' }) as string };
}

export const ISSUER = 'https://auth.test/';
export const AUDIENCE = 'api.test';
/** Wall clock of the ManualClock used in unit tests (ms). */
export const WALL_START = 1_700_000_000_000;
export const NOW_S = WALL_START / 1000;

export interface MintOptions {
  kid?: string | null;
  iss?: string;
  aud?: string | string[];
  sub?: string;
  /** Seconds relative to NOW_S (or the `now` given). */
  expIn?: number | null;
  iat?: number | null;
  nbf?: number;
  now?: number;
  header?: Record<string, unknown>;
}

export async function mint(key: TestKey, claims: JWTPayload = {}, o: MintOptions = {}): Promise<string> {
  const now = o.now ?? NOW_S;
  const header: Record<string, unknown> = { alg: key.alg, ...(o.kid === null ? {} : { kid: o.kid ?? key.kid }), ...o.header };
  const payload: JWTPayload = {
    iss: o.iss ?? ISSUER,
    aud: o.aud ?? AUDIENCE,
    sub: o.sub ?? 'alice',
    ...(o.iat === null ? {} : { iat: o.iat ?? now }),
    ...(o.expIn === null ? {} : { exp: now + (o.expIn ?? 600) }),
    ...(o.nbf !== undefined ? { nbf: o.nbf } : {}),
    ...claims,
  };
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

export const b64url = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A token assembled by hand: for the malformed cases jose refuses to produce. */
export function rawToken(header: unknown, payload: unknown, signature = 'c2lnbmF0dXJl'): string {
  return `${typeof header === 'string' ? header : b64url(header)}.${typeof payload === 'string' ? payload : b64url(payload)}.${signature}`;
}

/** Signs any header and payload with node:crypto (jose refuses some of the headers the tests need, e.g. unknown crit). */
export function signRaw(key: TestKey, header: Record<string, unknown>, payload: unknown): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  const sig =
    key.alg === 'ES256' ? cryptoSign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
    : key.alg === 'EdDSA' ? cryptoSign(null, Buffer.from(input), key.privateKey)
    : cryptoSign('sha256', Buffer.from(input), key.privateKey);
  return `${input}.${sig.toString('base64url')}`;
}

/** HS256 over header.payload with an arbitrary secret (the key-confusion attack uses the RSA public PEM). */
export function hs256(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

export function standardClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: NOW_S, exp: NOW_S + 600, ...extra };
}

export type JwksMode = 'serve' | 'garbage' | 'hang' | 'error' | 'empty' | 'huge';

/** A JWKS endpoint on 127.0.0.1 with an OS-chosen port. */
export class JwksServer {
  keys: TestKey[];
  mode: JwksMode = 'serve';
  requests = 0;
  readonly #server: Server;
  readonly #hanging = new Set<ServerResponse>();
  url = '';

  constructor(keys: TestKey[]) {
    this.keys = keys;
    this.#server = createServer((req: IncomingMessage, res: ServerResponse) => this.#handle(req, res));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/.well-known/jwks.json`;
    return this;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    req.resume();
    switch (this.mode) {
      case 'serve':
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
        return;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [ {"kty": "RSA", "n": "!!!"');
        return;
      case 'empty':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": []}');
        return;
      case 'huge':
        res.writeHead(200, { 'content-type': 'application/json' }).end(`{"keys": [], "pad": "${'x'.repeat(2 * 1024 * 1024)}"}`);
        return;
      case 'error':
        res.writeHead(503).end('unavailable');
        return;
      case 'hang':
        this.#hanging.add(res);
        res.on('close', () => this.#hanging.delete(res));
        return;
    }
  }

  /** Answers hanging requests with an error and stops accepting connections. */
  async close(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Polls `check` until it returns true or the deadline passes (no fixed sleeps). */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
