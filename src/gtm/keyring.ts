import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { GossipAuthError, GossipConfigError } from './errors.ts';

/** memberlist encryption version 1: AES-GCM, no padding. */
const ENCRYPTION_VERSION = 1;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;
/** Bytes encryption adds to a message: version + nonce + tag. */
export const ENCRYPT_OVERHEAD = 1 + NONCE_SIZE + TAG_SIZE;

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

  /** [version][nonce][ciphertext][tag], authenticated with `aad` (the cluster label). */
  encrypt(plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    const key = this.#keys[0]!;
    const nonce = randomBytes(NONCE_SIZE);
    const cipher = createCipheriv(algorithm(key), key, nonce);
    cipher.setAAD(aad);
    const body = cipher.update(plaintext);
    const final = cipher.final();
    const tag = cipher.getAuthTag();
    const out = Buffer.allocUnsafe(1 + NONCE_SIZE + body.length + final.length + TAG_SIZE);
    out[0] = ENCRYPTION_VERSION;
    nonce.copy(out, 1);
    body.copy(out, 1 + NONCE_SIZE);
    final.copy(out, 1 + NONCE_SIZE + body.length);
    tag.copy(out, out.length - TAG_SIZE);
    return out;
  }

  /** Tries every key; throws GossipAuthError when none authenticates the message. */
  decrypt(message: Uint8Array, aad: Uint8Array): Uint8Array {
    if (message.length < ENCRYPT_OVERHEAD) throw new GossipAuthError('encrypted message too short');
    if (message[0] !== ENCRYPTION_VERSION) throw new GossipAuthError(`unsupported encryption version ${message[0]}`);
    const nonce = message.subarray(1, 1 + NONCE_SIZE);
    const body = message.subarray(1 + NONCE_SIZE, message.length - TAG_SIZE);
    const tag = message.subarray(message.length - TAG_SIZE);
    for (const key of this.#keys) {
      try {
        const d = createDecipheriv(algorithm(key), key, nonce);
        d.setAAD(aad);
        d.setAuthTag(tag);
        const a = d.update(body);
        const b = d.final();
        return b.length === 0 ? a : Buffer.concat([a, b]);
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
