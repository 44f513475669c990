import { lowerKeyOf } from './name.ts';

/**
 * Builds one DNS message with name compression (RFC 1035 4.1.4). Used when
 * answers are precomputed and for the rare responses built per query (errors,
 * NXDOMAIN); the per-query fast path only copies what this produced.
 */
export class MessageWriter {
  #buf: Buffer;
  #len = 0;
  #names = new Map<string, number>();
  readonly #compress: boolean;

  /** `compress` false writes every name in full (DNSSEC canonical form). */
  constructor(initialSize = 512, compress = true) {
    this.#buf = Buffer.alloc(initialSize);
    this.#compress = compress;
  }

  get length(): number {
    return this.#len;
  }

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.alloc(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  u8(v: number): this {
    this.#ensure(1);
    this.#buf[this.#len++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.#ensure(2);
    this.#buf.writeUInt16BE(v & 0xffff, this.#len);
    this.#len += 2;
    return this;
  }

  u32(v: number): this {
    this.#ensure(4);
    this.#buf.writeUInt32BE(v >>> 0, this.#len);
    this.#len += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  patchU16(at: number, v: number): void {
    this.#buf.writeUInt16BE(v & 0xffff, at);
  }

  /**
   * Writes an uncompressed wire name (any letter case), compressing against
   * names written earlier unless `compress` is false (SRV targets, RFC 2782).
   * Every suffix written literally becomes a pointer target either way.
   */
  name(wire: Buffer, compress = true): this {
    let i = 0;
    while (i < wire.length) {
      const len = wire[i]!;
      if (len === 0) {
        this.u8(0);
        return this;
      }
      const key = lowerKeyOf(wire, i, wire.length);
      const known = this.#names.get(key);
      if (compress && this.#compress && known !== undefined) {
        this.u16(0xc000 | known);
        return this;
      }
      if (known === undefined && this.#len < 0x4000) this.#names.set(key, this.#len);
      this.bytes(wire.subarray(i, i + len + 1));
      i += len + 1;
    }
    return this;
  }

  /** A copy of the bytes written so far. */
  finish(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#len));
  }
}
