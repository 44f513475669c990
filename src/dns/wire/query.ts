import { ECS_FAMILY_IPV4, ECS_FAMILY_IPV6, EdnsOption, Flags2, HEADER_SIZE, MAX_NAME_WIRE, RRType } from './constants.ts';

/** What parseQuery decided about a message. */
export const QueryStatus = {
  OK: 0,
  /** Not worth a reply: shorter than a header, or a response (QR=1). */
  DROP: 1,
  /** FORMERR with the header only: the question can't be echoed. */
  FORMERR_HEADER: 2,
  /** FORMERR echoing the question: the rest of the message is broken. */
  FORMERR_QUESTION: 3,
  /** FORMERR echoing the question and an OPT: the OPT was fine, an option in it was not. */
  FORMERR_OPTION: 4,
} as const;
export type QueryStatus = (typeof QueryStatus)[keyof typeof QueryStatus];

/**
 * The parts of a query the responder needs. One instance is reused for every
 * query on a socket: the fast path allocates nothing.
 */
export class ParsedQuery {
  id = 0;
  /** Header byte 2 as received (QR, opcode, AA, TC, RD). */
  flags2 = 0;
  opcode = 0;
  /** Offset just past the question's name: the name is msg[12, qnameEnd). */
  qnameEnd = 0;
  qtype = 0;
  qclass = 0;
  /** Offset just past the question. */
  questionEnd = 0;
  edns = false;
  ednsVersion = 0;
  /** The requester's UDP payload size as sent (the responder clamps it). */
  udpSize = 0;
  dnssecOk = false;
  ecs = false;
  ecsFamily = 0;
  ecsSourcePrefix = 0;
  /** Address bits from ECS, zero-padded to 4 or 16 bytes. */
  readonly ecsAddress = Buffer.alloc(16);
  /** The query asked for our NSID (RFC 5001). */
  nsid = false;
  /** Offset of the COOKIE option data (client cookie, then the server cookie if any), or -1. */
  cookieOff = -1;
  cookieLen = 0;
  /** Offset of a TSIG record (the last one of the message, RFC 8945 5.1), or -1. */
  tsigStart = -1;
  /** Offset of the TSIG record's RDATA. */
  tsigRdata = -1;
}

/** Skips a possibly compressed name; returns the offset after it or -1. */
function skipName(msg: Buffer, off: number): number {
  for (let guard = 0; guard < 128; guard++) {
    if (off >= msg.length) return -1;
    const len = msg[off]!;
    if (len === 0) return off + 1;
    const kind = len & 0xc0;
    if (kind === 0xc0) return off + 2 <= msg.length ? off + 2 : -1;
    if (kind !== 0) return -1;
    off += len + 1;
  }
  return -1;
}

/**
 * Reads header, question and OPT (RFC 1035 4.1, RFC 6891, RFC 7871) into `q`.
 * Everything else in the message is only bounds-checked: a query has no use
 * for it. Never throws; every malformation maps to a status.
 */
export function parseQuery(msg: Buffer, q: ParsedQuery): QueryStatus {
  const len = msg.length;
  if (len < HEADER_SIZE) return QueryStatus.DROP;
  const f2 = msg[2]!;
  if (f2 & Flags2.QR) return QueryStatus.DROP;
  q.id = (msg[0]! << 8) | msg[1]!;
  q.flags2 = f2;
  q.opcode = (f2 >> 3) & 0x0f;
  q.edns = false;
  q.ecs = false;
  q.tsigStart = -1;
  q.nsid = false;
  q.cookieOff = -1;
  q.qnameEnd = HEADER_SIZE;
  q.questionEnd = HEADER_SIZE;
  const qd = (msg[4]! << 8) | msg[5]!;
  const an = (msg[6]! << 8) | msg[7]!;
  const ns = (msg[8]! << 8) | msg[9]!;
  const ar = (msg[10]! << 8) | msg[11]!;
  if (qd !== 1) return QueryStatus.FORMERR_HEADER;

  let off = HEADER_SIZE;
  for (;;) {
    if (off >= len) return QueryStatus.FORMERR_HEADER;
    const l = msg[off]!;
    if (l === 0) {
      off++;
      break;
    }
    // compression has nothing to point at in a question; 0x40/0x80 are obsolete label types
    if (l & 0xc0) return QueryStatus.FORMERR_HEADER;
    off += l + 1;
    if (off - HEADER_SIZE >= MAX_NAME_WIRE) return QueryStatus.FORMERR_HEADER;
  }
  if (off + 4 > len) return QueryStatus.FORMERR_HEADER;
  q.qnameEnd = off;
  q.qtype = (msg[off]! << 8) | msg[off + 1]!;
  q.qclass = (msg[off + 2]! << 8) | msg[off + 3]!;
  off += 4;
  q.questionEnd = off;

  // A query carries nothing in answer/authority except for opcodes we refuse anyway.
  if (q.opcode === 0 && (an !== 0 || ns !== 0)) return QueryStatus.FORMERR_QUESTION;
  const total = an + ns + ar;
  for (let i = 0; i < total; i++) {
    const nameStart = off;
    off = skipName(msg, off);
    if (off < 0 || off + 10 > len) return QueryStatus.FORMERR_QUESTION;
    const type = (msg[off]! << 8) | msg[off + 1]!;
    const rdlen = (msg[off + 8]! << 8) | msg[off + 9]!;
    const rdStart = off + 10;
    off = rdStart + rdlen;
    if (off > len) return QueryStatus.FORMERR_QUESTION;
    if (type === RRType.TSIG && i >= an + ns) {
      // RFC 8945 5.1: one TSIG, the last record of the message
      if (i !== total - 1) return QueryStatus.FORMERR_QUESTION;
      q.tsigStart = nameStart;
      q.tsigRdata = rdStart;
      continue;
    }
    if (type !== RRType.OPT || i < an + ns) continue;
    // RFC 6891 6.1.1: one OPT, owned by the root
    if (q.edns || msg[nameStart] !== 0) return QueryStatus.FORMERR_QUESTION;
    q.edns = true;
    q.udpSize = (msg[nameStart + 3]! << 8) | msg[nameStart + 4]!;
    q.ednsVersion = msg[nameStart + 6]!;
    q.dnssecOk = (msg[nameStart + 7]! & 0x80) !== 0;
    const st = parseOptions(msg, rdStart, off, q);
    if (st !== QueryStatus.OK) return st;
  }
  if (off !== len) return QueryStatus.FORMERR_QUESTION;
  return QueryStatus.OK;
}

function parseOptions(msg: Buffer, off: number, end: number, q: ParsedQuery): QueryStatus {
  while (off < end) {
    if (off + 4 > end) return QueryStatus.FORMERR_QUESTION;
    const code = (msg[off]! << 8) | msg[off + 1]!;
    const olen = (msg[off + 2]! << 8) | msg[off + 3]!;
    const data = off + 4;
    off = data + olen;
    if (off > end) return QueryStatus.FORMERR_QUESTION;
    if (code === EdnsOption.NSID) {
      q.nsid = true;
      continue;
    }
    if (code === EdnsOption.COOKIE) {
      // RFC 7873 5.2.2: a client cookie alone (8) or with a server cookie of 8..32 bytes; one option
      if (q.cookieOff >= 0 || !(olen === 8 || (olen >= 16 && olen <= 40))) return QueryStatus.FORMERR_OPTION;
      q.cookieOff = data;
      q.cookieLen = olen;
      continue;
    }
    if (code !== EdnsOption.ECS) continue; // unknown options are ignored (RFC 6891 6.1.2)
    if (q.ecs || olen < 4) return QueryStatus.FORMERR_OPTION;
    const family = (msg[data]! << 8) | msg[data + 1]!;
    const source = msg[data + 2]!;
    const scope = msg[data + 3]!;
    const maxBits = family === ECS_FAMILY_IPV4 ? 32 : family === ECS_FAMILY_IPV6 ? 128 : -1;
    // RFC 7871 6 and 7.1.2: known family, sane prefix, scope 0 in queries,
    // exactly ceil(source/8) address bytes and no bits set past the prefix
    if (maxBits < 0 || source > maxBits || scope !== 0) return QueryStatus.FORMERR_OPTION;
    const addrLen = olen - 4;
    if (addrLen !== (source + 7) >> 3) return QueryStatus.FORMERR_OPTION;
    if (addrLen > 0 && source & 7) {
      const mask = 0xff >> (source & 7);
      if (msg[data + 4 + addrLen - 1]! & mask) return QueryStatus.FORMERR_OPTION;
    }
    q.ecs = true;
    q.ecsFamily = family;
    q.ecsSourcePrefix = source;
    q.ecsAddress.fill(0);
    msg.copy(q.ecsAddress, 0, data + 4, data + 4 + addrLen);
  }
  return QueryStatus.OK;
}
