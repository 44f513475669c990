import { crc32 } from 'node:zlib';
import { GossipAuthError, GossipDecodeError } from './errors.ts';
import { ENCRYPT_OVERHEAD, Keyring } from './keyring.ts';
import type { ReplayWindow } from './replay-window.ts';

export interface EnvelopeFreshness {
  /** Wall-clock ms stamped into every sealed message (the agent's Clock.wallNow). */
  now: () => number;
  /** Refuses replays and stale or far-future stamps on open(); without it, stamps are not checked. */
  window?: ReplayWindow | undefined;
}

/** memberlist's label header: [244][length][label], sent in clear before the (encrypted) payload. */
const LABEL_TYPE = 244;
/** memberlist's hasCrcMsg: [12][crc32][payload] protects unencrypted payloads against corruption. */
const CRC_TYPE = 12;
const CRC_OVERHEAD = 5;

/**
 * The outermost framing of every datagram and stream frame: cluster label,
 * then either AES-GCM (with the label as additional authenticated data, so a
 * packet for one cluster cannot be replayed into another, and the sender's
 * time, checked with its nonce against a replay window) or a CRC32. Without
 * keys there is no authentication, hence no replay protection either (the
 * agent refuses a keyless bind off loopback).
 */
export class Envelope {
  readonly #keyring: Keyring | undefined;
  readonly #label: Buffer;
  readonly #header: Buffer;
  readonly #now: () => number;
  readonly #window: ReplayWindow | undefined;

  constructor(label: string, keyring?: Keyring, freshness: EnvelopeFreshness = { now: Date.now }) {
    this.#keyring = keyring;
    this.#now = freshness.now;
    this.#window = freshness.window;
    this.#label = Buffer.from(label, 'utf8');
    if (this.#label.length > 255) throw new GossipDecodeError('cluster label longer than 255 bytes');
    this.#header = this.#label.length > 0 ? Buffer.from([LABEL_TYPE, this.#label.length, ...this.#label]) : Buffer.alloc(0);
  }

  get encrypted(): boolean {
    return this.#keyring !== undefined;
  }

  /** Bytes the envelope adds to a payload. */
  get overhead(): number {
    return this.#header.length + (this.#keyring ? ENCRYPT_OVERHEAD : CRC_OVERHEAD);
  }

  seal(payload: Uint8Array): Uint8Array {
    const h = this.#header.length;
    if (this.#keyring) {
      const body = this.#keyring.encrypt(payload, this.#label, this.#now());
      return h === 0 ? body : Buffer.concat([this.#header, body]);
    }
    // One allocation: [label header][12][crc32][payload]
    const b = Buffer.allocUnsafe(h + CRC_OVERHEAD + payload.length);
    this.#header.copy(b, 0);
    b[h] = CRC_TYPE;
    b.writeUInt32BE(crc32(payload), h + 1);
    b.set(payload, h + CRC_OVERHEAD);
    return b;
  }

  /**
   * Checks label, authenticity and freshness; returns the payload. Throws
   * GossipAuthError (wrong label, wrong key, tampering), GossipReplayError
   * (seen before, or stamped outside the skew tolerance) or GossipDecodeError
   * (malformed).
   */
  open(packet: Uint8Array): Uint8Array {
    let body = packet;
    if (packet.length > 0 && packet[0] === LABEL_TYPE) {
      if (packet.length < 2 || packet.length < 2 + packet[1]!) throw new GossipDecodeError('truncated label header');
      const label = packet.subarray(2, 2 + packet[1]!);
      if (!this.#label.equals(label)) throw new GossipAuthError('cluster label mismatch');
      body = packet.subarray(2 + packet[1]!);
    } else if (this.#label.length > 0) {
      throw new GossipAuthError('missing cluster label');
    }
    if (this.#keyring) {
      const window = this.#window;
      if (!window) return this.#keyring.decrypt(body, this.#label);
      // A stale stamp is refused before the decryption it would cost (it can only refuse: not yet authenticated).
      const stamp = Keyring.peekTimestamp(body);
      if (stamp !== undefined) window.check(stamp);
      const opened = this.#keyring.open(body, this.#label);
      window.admit(opened.timestamp, opened.nonce);
      return opened.payload;
    }
    if (body.length < CRC_OVERHEAD || body[0] !== CRC_TYPE) {
      // An encrypted packet reaching a member without keys also ends here.
      throw new GossipAuthError('unexpected unencrypted framing (encrypted packet, or garbage)');
    }
    const sum = ((body[1]! << 24) | (body[2]! << 16) | (body[3]! << 8) | body[4]!) >>> 0;
    const payload = body.subarray(CRC_OVERHEAD);
    if (sum !== crc32(payload)) throw new GossipDecodeError('CRC mismatch');
    return payload;
  }
}
