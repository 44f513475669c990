import { randomBytes } from 'node:crypto';
import { DnsError } from './errors.ts';
import { COOKIE_DEFAULTS } from './options.ts';

/**
 * DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018):
 * server cookie = version 1 | 3 reserved bytes | timestamp (s) |
 * SipHash-2-4(client cookie | version | reserved | timestamp | client IP,
 * secret). Every nameserver of a fleet given the same secret accepts the
 * others' cookies (anycast, or resolvers spreading over the NS set).
 */
export const CLIENT_COOKIE_LEN = 8;
export const SERVER_COOKIE_LEN = 16;
/** RFC 9018 4.3: a cookie is valid for an hour after its timestamp and up to 5 minutes before it. */
const MAX_AGE_S = 3600;
const MAX_FUTURE_S = 300;

// SipHash-2-4 on 32-bit halves: no BigInt, no allocation per call
const st = new Uint32Array(8); // v0h v0l v1h v1l v2h v2l v3h v3l

function add(a: number, b: number): void {
  const lo = st[a + 1]! + st[b + 1]!;
  st[a] = (st[a]! + st[b]! + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  st[a + 1] = lo >>> 0;
}
function rotl(a: number, n: number): void {
  const h = st[a]!;
  const l = st[a + 1]!;
  if (n === 32) {
    st[a] = l;
    st[a + 1] = h;
  } else if (n < 32) {
    st[a] = ((h << n) | (l >>> (32 - n))) >>> 0;
    st[a + 1] = ((l << n) | (h >>> (32 - n))) >>> 0;
  }
}
function xor(a: number, b: number): void {
  st[a] = (st[a]! ^ st[b]!) >>> 0;
  st[a + 1] = (st[a + 1]! ^ st[b + 1]!) >>> 0;
}
function round(): void {
  add(0, 2); rotl(2, 13); xor(2, 0); rotl(0, 32);
  add(4, 6); rotl(6, 16); xor(6, 4);
  add(0, 6); rotl(6, 21); xor(6, 0);
  add(4, 2); rotl(2, 17); xor(2, 4); rotl(4, 32);
}
const le32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

/** SipHash-2-4 of `msg[0, len)` with a 16-byte key, written little-endian into `out[at, at+8)`. */
export function sipHash24(key: Uint8Array, msg: Uint8Array, len: number, out: Uint8Array, at: number): void {
  const k0h = le32(key, 4), k0l = le32(key, 0), k1h = le32(key, 12), k1l = le32(key, 8);
  st[0] = (k0h ^ 0x736f6d65) >>> 0; st[1] = (k0l ^ 0x70736575) >>> 0;
  st[2] = (k1h ^ 0x646f7261) >>> 0; st[3] = (k1l ^ 0x6e646f6d) >>> 0;
  st[4] = (k0h ^ 0x6c796765) >>> 0; st[5] = (k0l ^ 0x6e657261) >>> 0;
  st[6] = (k1h ^ 0x74656462) >>> 0; st[7] = (k1l ^ 0x79746573) >>> 0;
  const full = len & ~7;
  let mh = 0, ml = 0;
  const absorb = () => {
    st[6] = (st[6]! ^ mh) >>> 0; st[7] = (st[7]! ^ ml) >>> 0;
    round(); round();
    st[0] = (st[0]! ^ mh) >>> 0; st[1] = (st[1]! ^ ml) >>> 0;
  };
  for (let i = 0; i < full; i += 8) {
    ml = le32(msg, i);
    mh = le32(msg, i + 4);
    absorb();
  }
  const tail = new Uint8Array(8);
  for (let i = full; i < len; i++) tail[i - full] = msg[i]!;
  tail[7] = len & 0xff;
  ml = le32(tail, 0);
  mh = le32(tail, 4);
  absorb();
  st[5] = (st[5]! ^ 0xff) >>> 0;
  round(); round(); round(); round();
  const h = (st[0]! ^ st[2]! ^ st[4]! ^ st[6]!) >>> 0;
  const l = (st[1]! ^ st[3]! ^ st[5]! ^ st[7]!) >>> 0;
  for (let i = 0; i < 4; i++) {
    out[at + i] = (l >>> (8 * i)) & 0xff;
    out[at + 4 + i] = (h >>> (8 * i)) & 0xff;
  }
}

export interface CookieSettings {
  enabled: boolean;
  /** 16-byte secrets: the first makes cookies, every one is accepted (rotation). */
  secrets: Buffer[];
}

export function cookieSettings(config: { enabled?: boolean; secret?: string; previousSecret?: string } | undefined): CookieSettings {
  const parse = (hex: string, what: string) => {
    if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new DnsError('EP_DNS_COOKIE', `${what} must be 32 hex digits (16 bytes)`);
    return Buffer.from(hex, 'hex');
  };
  const secrets = [config?.secret ? parse(config.secret, 'dns.cookies.secret') : randomBytes(16)];
  if (config?.previousSecret) secrets.push(parse(config.previousSecret, 'dns.cookies.previousSecret'));
  return { enabled: config?.enabled ?? COOKIE_DEFAULTS.enabled, secrets };
}

/**
 * Makes and checks server cookies. One scratch buffer for the hash input:
 * client cookie (8) | version, reserved, timestamp (8) | client IP (4 or 16).
 */
export class CookieJar {
  readonly settings: CookieSettings;
  readonly #input = Buffer.alloc(32);
  readonly #hash = Buffer.alloc(8);

  constructor(settings: CookieSettings) {
    this.settings = settings;
  }

  #fill(client: Buffer, clientOff: number, ts: number, ip: Buffer): number {
    const inp = this.#input;
    client.copy(inp, 0, clientOff, clientOff + CLIENT_COOKIE_LEN);
    inp[8] = 1;
    inp[9] = 0;
    inp[10] = 0;
    inp[11] = 0;
    inp.writeUInt32BE(ts >>> 0, 12);
    ip.copy(inp, 16);
    return 16 + ip.length;
  }

  /** Writes client cookie + a fresh server cookie (24 bytes) into `out` at `at`. */
  write(msg: Buffer, clientOff: number, ip: Buffer, nowS: number, out: Buffer, at: number): void {
    const len = this.#fill(msg, clientOff, nowS, ip);
    msg.copy(out, at, clientOff, clientOff + CLIENT_COOKIE_LEN);
    this.#input.copy(out, at + 8, 8, 16);
    sipHash24(this.settings.secrets[0]!, this.#input, len, out, at + 16);
  }

  /** True when the server cookie at `msg[serverOff, +16)` is ours, for this client, and fresh. */
  valid(msg: Buffer, clientOff: number, serverOff: number, serverLen: number, ip: Buffer, nowS: number): boolean {
    if (serverLen !== SERVER_COOKIE_LEN || msg[serverOff] !== 1) return false;
    const ts = msg.readUInt32BE(serverOff + 4);
    // serial-number arithmetic would matter in 2106; a plain window is enough here
    if (ts > nowS + MAX_FUTURE_S || ts + MAX_AGE_S < nowS) return false;
    const len = this.#fill(msg, clientOff, ts, ip);
    this.#input[9] = msg[serverOff + 1]!;
    this.#input[10] = msg[serverOff + 2]!;
    this.#input[11] = msg[serverOff + 3]!;
    for (const secret of this.settings.secrets) {
      sipHash24(secret, this.#input, len, this.#hash, 0);
      let same = true;
      for (let i = 0; i < 8; i++) if (this.#hash[i] !== msg[serverOff + 8 + i]) same = false;
      if (same) return true;
    }
    return false;
  }
}
