import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { GossipAuthError, GossipConfigError } from './errors.ts';

/**
 * Version 2: memberlist's version 1 (AES-GCM, no padding) with the sender's
 * wall-clock time after the version byte, covered by the tag like the
 * version (Fernet's layout). Version 1 is not read: it carries no time, so
 * accepting it would let any captured message be replayed forever.
 */
const ENCRYPTION_VERSION = 2;
const STAMP_SIZE = 8;
const HEADER_SIZE = 1 + STAMP_SIZE;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;
/** Bytes encryption adds to a message: version + timestamp + nonce + tag. */
export const ENCRYPT_OVERHEAD = HEADER_SIZE + NONCE_SIZE + TAG_SIZE;

/** A decrypted message with what the replay window needs: the sender's time and the message's nonce. */
export interface Opened {
  payload: Uint8Array;
  /** Sender's wall-clock milliseconds, authenticated. */
  timestamp: number;
  /** The AES-GCM nonce: random per message, so a replay is recognised by it. */
  nonce: Uint8Array;
}

/**
 * Several AES keys accepted for decryption, the first used for encryption, as
 * memberlist's keyring: rotation without downtime is (1) add the new key
 * second everywhere, (2) make it first everywhere, (3) remove the old one.
 * Keys are never logged or exposed; only their count.
 */
export class Keyring {
  #keys: Buffer[];

  constructor(keys: readonly (string | Uint8Array)[]) {
    if (keys.length === 0) throw new GossipConfigError('a keyring needs at least one key');
    this.#keys = keys.map((k, i) => Keyring.#parse(k, i));
  }

  static #parse(key: string | Uint8Array, index: number): Buffer {
    const buf = typeof key === 'string' ? decodeBase64Strict(key) : Buffer.from(key);
    if (!buf) throw new GossipConfigError(`gossip key ${index} is not valid base64`);
    if (buf.length !== 16 && buf.length !== 24 && buf.length !== 32) {
      throw new GossipConfigError(`gossip key ${index} must be 16, 24 or 32 bytes (AES-128/192/256), got ${buf.length}`);
    }
    return buf;
  }

  get size(): number {
    return this.#keys.length;
  }

  /** Replaces every key at once (a config reload); the first encrypts. Validated before anything changes. */
  setKeys(keys: readonly (string | Uint8Array)[]): void {
    if (keys.length === 0) throw new GossipConfigError('a keyring needs at least one key');
    this.#keys = keys.map((k, i) => Keyring.#parse(k, i));
  }

  /** Adds a key for decryption only (step 1 of a rotation). */
  addKey(key: string | Uint8Array): void {
    const buf = Keyring.#parse(key, this.#keys.length);
    if (!this.#keys.some((k) => k.equals(buf))) this.#keys.push(buf);
  }

  /** Makes an installed key the one that encrypts (step 2). */
  useKey(key: string | Uint8Array): void {
    const buf = Keyring.#parse(key, 0);
    const i = this.#keys.findIndex((k) => k.equals(buf));
    if (i < 0) throw new GossipConfigError('useKey: the key is not installed');
    this.#keys.splice(i, 1);
    this.#keys.unshift(buf);
  }

  /** Removes a key (step 3); the primary cannot be removed. */
  removeKey(key: string | Uint8Array): void {
    const buf = Keyring.#parse(key, 0);
    if (this.#keys[0]!.equals(buf)) throw new GossipConfigError('removeKey: cannot remove the primary key');
    this.#keys = this.#keys.filter((k) => !k.equals(buf));
  }

  /**
   * [version][timestamp u64][nonce][ciphertext][tag]; `aad` (the cluster
   * label), version and timestamp are authenticated. `timestamp` is the
   * sender's wall-clock ms.
   */
  encrypt(plaintext: Uint8Array, aad: Uint8Array, timestamp = Date.now()): Uint8Array {
    const key = this.#keys[0]!;
    const nonce = randomBytes(NONCE_SIZE);
    const cipher = createCipheriv(algorithm(key), key, nonce);
    const out = Buffer.allocUnsafe(HEADER_SIZE + NONCE_SIZE + plaintext.length + TAG_SIZE);
    out[0] = ENCRYPTION_VERSION;
    out.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(timestamp))), 1);
    cipher.setAAD(Buffer.concat([aad, out.subarray(0, HEADER_SIZE)]));
    const body = cipher.update(plaintext);
    const final = cipher.final();
    nonce.copy(out, HEADER_SIZE);
    body.copy(out, HEADER_SIZE + NONCE_SIZE);
    final.copy(out, HEADER_SIZE + NONCE_SIZE + body.length);
    cipher.getAuthTag().copy(out, out.length - TAG_SIZE);
    return out;
  }

  /** The sender's timestamp, unauthenticated: for refusing stale messages before spending a decryption on them. */
  static peekTimestamp(message: Uint8Array): number | undefined {
    if (message.length < ENCRYPT_OVERHEAD || message[0] !== ENCRYPTION_VERSION) return undefined;
    return Number(Buffer.from(message.buffer, message.byteOffset, message.byteLength).readBigUInt64BE(1));
  }

  /** Tries every key; throws GossipAuthError when none authenticates the message. */
  decrypt(message: Uint8Array, aad: Uint8Array): Uint8Array {
    return this.open(message, aad).payload;
  }

  /** decrypt() with the authenticated timestamp and the nonce. */
  open(message: Uint8Array, aad: Uint8Array): Opened {
    if (message.length < ENCRYPT_OVERHEAD) throw new GossipAuthError('encrypted message too short');
    if (message[0] !== ENCRYPTION_VERSION) throw new GossipAuthError(`unsupported encryption version ${message[0]}`);
    const header = message.subarray(0, HEADER_SIZE);
    const nonce = message.subarray(HEADER_SIZE, HEADER_SIZE + NONCE_SIZE);
    const body = message.subarray(HEADER_SIZE + NONCE_SIZE, message.length - TAG_SIZE);
    const tag = message.subarray(message.length - TAG_SIZE);
    const authenticated = Buffer.concat([aad, header]);
    for (const key of this.#keys) {
      try {
        const d = createDecipheriv(algorithm(key), key, nonce);
        d.setAAD(authenticated);
        d.setAuthTag(tag);
        const a = d.update(body);
        const b = d.final();
        const timestamp = Number(Buffer.from(header.buffer, header.byteOffset, header.byteLength).readBigUInt64BE(1));
        return { payload: b.length === 0 ? a : Buffer.concat([a, b]), timestamp, nonce };
      } catch {
        // wrong key: try the next one
      }
    }
    throw new GossipAuthError('no installed key authenticates the message');
  }

  toJSON(): unknown {
    return { keys: this.#keys.length };
  }
}

function algorithm(key: Buffer): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  return key.length === 16 ? 'aes-128-gcm' : key.length === 24 ? 'aes-192-gcm' : 'aes-256-gcm';
}

/** Decodes standard or URL-safe base64 (padding optional) strictly; undefined when it is not base64. */
export function decodeBase64Strict(text: string): Buffer | undefined {
  const t = text.trim();
  if (t.length === 0 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) return undefined;
  const buf = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  const canonical = buf.toString('base64').replace(/=+$/, '');
  if (canonical !== t.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '')) return undefined;
  return buf;
}

/** A fresh random key, base64 (for docs and `edgeplane` tooling). */
export function generateKey(bytes: 16 | 24 | 32 = 32): string {
  return randomBytes(bytes).toString('base64');
}
