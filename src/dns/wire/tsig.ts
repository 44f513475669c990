import { MAX_NAME_WIRE, RRClass, RRType } from './constants.ts';

/** TSIG error codes (RFC 8945 3): the key is unknown to this server. */
export const TSIG_BADKEY = 17;

/**
 * A name in wire form with compression pointers followed, or undefined when
 * it loops, runs past the message or is too long. The TSIG key name may be
 * compressed in the query; the reply must not point into the query.
 */
export function expandName(msg: Buffer, off: number): { name: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let total = 0;
  let end = -1;
  for (let hops = 0; hops < 128; hops++) {
    if (off >= msg.length) return undefined;
    const len = msg[off]!;
    if ((len & 0xc0) === 0xc0) {
      if (off + 2 > msg.length) return undefined;
      if (end < 0) end = off + 2;
      off = ((len & 0x3f) << 8) | msg[off + 1]!;
      continue;
    }
    if (len & 0xc0) return undefined;
    if (off + 1 + len > msg.length) return undefined;
    parts.push(msg.subarray(off, off + 1 + len));
    total += len + 1;
    if (total > MAX_NAME_WIRE) return undefined;
    if (len === 0) return { name: Buffer.concat(parts), end: end < 0 ? off + 1 : end };
    off += len + 1;
  }
  return undefined;
}

/**
 * The TSIG record of an unsigned error reply to a signed query whose key we
 * don't know (RFC 8945 5.2.2 and 5.3.2): same key and algorithm names, the
 * request's time and fudge, an empty MAC, the original ID and error BADKEY.
 * Undefined when the query's TSIG RDATA is malformed (the caller answers FORMERR).
 */
export function badKeyTsig(msg: Buffer, start: number, rdata: number): Buffer | undefined {
  const key = expandName(msg, start);
  const alg = expandName(msg, rdata);
  if (!key || !alg) return undefined;
  let off = alg.end;
  // time signed (6), fudge (2), MAC size (2)
  if (off + 10 > msg.length) return undefined;
  const timeAndFudge = msg.subarray(off, off + 8);
  const macSize = msg.readUInt16BE(off + 8);
  off += 10 + macSize;
  // original ID (2), error (2), other len (2)
  if (off + 6 > msg.length) return undefined;
  const originalId = msg.readUInt16BE(off);
  const rdLen = alg.name.length + 8 + 2 + 2 + 2 + 2;
  const out = Buffer.alloc(key.name.length + 10 + rdLen);
  let o = key.name.copy(out, 0);
  out.writeUInt16BE(RRType.TSIG, o);
  out.writeUInt16BE(RRClass.ANY, o + 2);
  out.writeUInt32BE(0, o + 4);
  out.writeUInt16BE(rdLen, o + 8);
  o += 10;
  o += alg.name.copy(out, o);
  o += timeAndFudge.copy(out, o);
  out.writeUInt16BE(0, o); // MAC size: the reply is unsigned
  out.writeUInt16BE(originalId, o + 2);
  out.writeUInt16BE(TSIG_BADKEY, o + 4);
  out.writeUInt16BE(0, o + 6); // other len
  return out;
}
