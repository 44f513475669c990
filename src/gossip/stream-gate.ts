import { GossipDecodeError } from './errors.ts';
import type { Envelope } from './envelope.ts';

/**
 * What a stream transport asks before it buffers a frame: a small sealed
 * head, sent first, that announces the frame's length. A peer without the key
 * can make the transport hold at most the head (MAX_STREAM_HEAD bytes) before
 * the connection is closed, instead of a whole push-pull frame (up to 32 MiB).
 */
export interface StreamGate {
  /** The head to send before a frame of `length` bytes. */
  head(length: number): Uint8Array;
  /** True when `head` opens (authentic, fresh, not replayed) and announces exactly `length`. */
  admit(head: Uint8Array, length: number): boolean;
}

/** Largest head accepted: label (≤ 257) + encryption (37) + the 5-byte announcement, with room. */
export const MAX_STREAM_HEAD = 512;

const HEAD_TYPE = 0x48; // 'H'

/**
 * The gate of an agent's envelope. With keys the head is authenticated and
 * goes through the replay window like any message (its nonce is its own, so
 * the frame behind it is checked again on its own). Without keys (loopback
 * only) the head is only well-formed: local processes are trusted there, and
 * the connection caps and deadline still bound what they can hold.
 * `onRefused` counts why a head was refused (the agent's drop counters).
 */
export function envelopeGate(envelope: Envelope, onRefused: (err: unknown) => void): StreamGate {
  return {
    head(length) {
      const b = Buffer.allocUnsafe(5);
      b[0] = HEAD_TYPE;
      b.writeUInt32BE(length, 1);
      return envelope.seal(b);
    },
    admit(head, length) {
      try {
        const p = envelope.open(head);
        if (p.length !== 5 || p[0] !== HEAD_TYPE) throw new GossipDecodeError('stream head: not a head');
        const announced = ((p[1]! << 24) | (p[2]! << 16) | (p[3]! << 8) | p[4]!) >>> 0;
        if (announced !== length) throw new GossipDecodeError(`stream head announces ${announced} bytes, the frame ${length}`);
        return true;
      } catch (err) {
        onRefused(err);
        return false;
      }
    },
  };
}
