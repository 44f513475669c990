import type { Rng } from '../util/rng.ts';
import { CLASSIC_UDP_SIZE, EdnsOption, Flags2, Flags3, HEADER_SIZE, Rcode, RRClass, RRType } from './wire/constants.ts';
import { parseQuery, ParsedQuery, QueryStatus } from './wire/query.ts';
import type { Answer, AnswerCache, GtmAnswer, StaticAnswer, ZoneAnswers } from './answer/cache.ts';
import { encodeResolution } from './answer/encode.ts';
import { nxdomain, resolveWildcard, type Resolution } from './zone/resolve.ts';
import type { ZoneNode } from './zone/types.ts';
import { selectAnswers } from './gtm/select.ts';
import { countDropped, countSlipped, NO_ZONE_LABEL, ZoneQuerySlots } from './metrics.ts';
import { badKeyTsig } from './wire/tsig.ts';
import { chaosReply, type Identity } from './identity.ts';
import type { CookieJar } from './cookies.ts';
import { clientAddressBytes } from './wire/ip.ts';

/** RFC 7873 8: extended rcode 23. */
const BADCOOKIE = 23;
const ADDRESS_CACHE_MAX = 4096;
import { RrlVerdict, type ResponseRateLimiter } from './rrl.ts';

const TCP_MAX = 65535;
/** RFC 8914 info-code: the server is not authoritative for the name (what knotd sends with REFUSED). */
const EDE_NOT_AUTHORITATIVE = 20;
/** The metrics label of queries that name no zone served here (or no name at all). */
const NO_ZONE = new ZoneQuerySlots(NO_ZONE_LABEL);

/** Everything a config update replaces, swapped in one assignment. */
export interface ResponderState {
  cache: AnswerCache;
  rrl: ResponseRateLimiter;
  /** Our EDNS payload size: advertised, and the cap for UDP answers. */
  udpSize: number;
  /** Largest number of GTM candidates of any name (sizes the scratch arrays). */
  maxCandidates: number;
  identity: Identity;
  /** DNS cookies, when enabled. */
  cookies?: CookieJar;
  /** Wall-clock seconds (cookie timestamps). */
  nowSeconds: () => number;
}

/**
 * The per-query path: parse header, question and OPT; find the precomputed
 * answer; copy it with the query's ID, RD bit and question bytes (that is the
 * case echo); append OPT; apply RRL on UDP; count. One instance serves every
 * socket of a server (JavaScript runs one query at a time), so the parse
 * target and scratch arrays are reused.
 */
export class Responder {
  #state: ResponderState;
  readonly #rng: Rng;
  readonly #q = new ParsedQuery();
  #picked: Int32Array;
  #scratch: Float64Array;
  /** This query's COOKIE option for the reply (client + fresh server cookie), when it sent one. */
  #cookie: Buffer | undefined;
  #cookieValid = false;
  readonly #cookieOut = Buffer.alloc(24);
  readonly #addresses = new Map<string, Buffer | undefined>();

  constructor(state: ResponderState, rng: Rng) {
    this.#state = state;
    this.#rng = rng;
    this.#picked = new Int32Array(Math.max(1, state.maxCandidates));
    this.#scratch = new Float64Array(Math.max(1, state.maxCandidates));
  }

  setState(state: ResponderState): void {
    if (state.maxCandidates > this.#picked.length) {
      this.#picked = new Int32Array(state.maxCandidates);
      this.#scratch = new Float64Array(state.maxCandidates);
    }
    this.#state = state;
  }

  /** The reply to `msg` from `address`, or undefined when nothing should be sent. */
  answer(msg: Buffer, address: string, tcp: boolean): Buffer | undefined {
    const q = this.#q;
    const st = parseQuery(msg, q);
    if (st !== QueryStatus.OK) {
      this.#cookie = undefined;
      this.#cookieValid = false;
      if (st === QueryStatus.DROP) {
        countDropped(msg.length < HEADER_SIZE ? 'malformed' : 'response');
        return undefined;
      }
      // an opcode we don't implement is NOTIMP whatever its sections hold (DSO has no question, RFC 8490)
      if (q.opcode !== 0) return this.#error(msg, q, Rcode.NOTIMP, st !== QueryStatus.FORMERR_HEADER, q.edns && st !== QueryStatus.FORMERR_HEADER, address, tcp);
      const withOpt = st === QueryStatus.FORMERR_OPTION;
      return this.#error(msg, q, Rcode.FORMERR, st !== QueryStatus.FORMERR_HEADER, withOpt, address, tcp);
    }
    const state = this.#state;
    this.#cookie = undefined;
    this.#cookieValid = false;
    if (q.cookieOff >= 0 && state.cookies !== undefined) this.#cookies(msg, q, address, state.cookies, state.nowSeconds());
    if (q.opcode !== 0) return this.#error(msg, q, Rcode.NOTIMP, true, q.edns, address, tcp);
    if (q.tsigStart >= 0) {
      // RFC 8945 5.2.2: no keys are configured, so every key is unknown: NOTAUTH with TSIG error BADKEY, unsigned
      const tsig = badKeyTsig(msg, q.tsigStart, q.tsigRdata);
      if (tsig === undefined) return this.#error(msg, q, Rcode.FORMERR, true, false, address, tcp);
      return this.#error(msg, q, Rcode.NOTAUTH, true, q.edns, address, tcp, undefined, tsig);
    }
    // RFC 6891 6.1.3: only version 0 exists
    if (q.edns && q.ednsVersion > 0) return this.#error(msg, q, Rcode.BADVERS, true, true, address, tcp);
    if (q.qclass === RRClass.CH) {
      // id.server, hostname.bind, version.bind (when configured): who answered
      const ch = chaosReply(msg, q, state.identity);
      if (ch !== undefined) return this.#deliver(msg, ch, Rcode.NOERROR, NO_ZONE, address, tcp, true, false);
    }
    // Zone transfers are not offered; CH/HS queries have no zones here
    if ((q.qclass !== RRClass.IN && q.qclass !== RRClass.ANY) || q.qtype === RRType.AXFR || q.qtype === RRType.IXFR) {
      return this.#error(msg, q, Rcode.REFUSED, true, q.edns, address, tcp);
    }

    const limit = tcp ? TCP_MAX : q.edns ? Math.min(Math.max(q.udpSize, CLASSIC_UDP_SIZE), state.udpSize) : CLASSIC_UDP_SIZE;
    const cache = state.cache;
    const entry = cache.names.get(msg, HEADER_SIZE, q.qnameEnd);
    let ans: Answer;
    if (entry !== undefined) {
      ans = entry.types.get(q.qtype) ?? entry.other;
      // DO=1 and a signed zone: the same answer with RRSIGs and denial NSECs (one branch for unsigned traffic)
      if (q.dnssecOk && ans.signed !== undefined) ans = ans.signed;
    } else {
      const anc = cache.closestAncestor(msg, HEADER_SIZE, q.qnameEnd);
      if (anc === undefined) {
        // not ours: REFUSED without AA (RFC 8906 3.1.3.1), with EDE 20 "Not Authoritative" (RFC 8914)
        return this.#error(msg, q, Rcode.REFUSED, true, q.edns, address, tcp, EDE_NOT_AUTHORITATIVE);
      }
      ans = anc.referral === undefined && anc.wildcard !== undefined ? wildcardAnswer(msg, q, anc.zone, anc.wildcard) : perQueryAnswer(msg, q, anc.zone, anc.referral);
    }
    const out = ans.gtm === undefined ? this.#static(msg, q, ans, limit) : this.#gtm(msg, q, ans, limit, address);
    return this.#deliver(msg, out, ans.rcode, ans.zone.slots, address, tcp, ans.aa, q.edns);
  }

  #static(msg: Buffer, q: ParsedQuery, ans: StaticAnswer, limit: number): Buffer {
    const tpl = ans.bytes;
    const nsid = this.#state.identity.nsid;
    const cookie = this.#cookie;
    const optLen = q.edns ? optSize(q, nsid) + (cookie === undefined ? 0 : 28) : 0;
    const total = tpl.length + optLen;
    if (total > limit) return truncated(msg, q, ans.aa, ans.rcode, this.#state.udpSize, q.edns, 0, cookie);
    const out = Buffer.allocUnsafe(total);
    out.set(tpl, 0);
    patch(out, msg, q, tpl[2]!);
    if (optLen) {
      putOpt(out, tpl.length, this.#state.udpSize, 0, q, 0, true, nsid, cookie);
      bumpArcount(out);
    }
    return out;
  }

  #gtm(msg: Buffer, q: ParsedQuery, ans: GtmAnswer, limit: number, address: string): Buffer {
    const rt = ans.gtm;
    const plans = ans.family === 4 ? rt.v4! : rt.v6!;
    let plan = plans.fallback;
    let scope = 0;
    if (plans.clientDependent) {
      const loc = this.#state.cache.locator;
      const g = q.ecs ? loc.locateBytes(q.ecsAddress, q.ecsFamily === 1 ? 4 : 6, q.ecsSourcePrefix) : loc.locateAddress(address);
      scope = g.scope;
      if (g.region >= 0) plan = plans.byClientRegion[g.region] ?? plans.fallback;
    }
    const tpl = ans.bytes;
    const bs = ans.blockSize;
    const nsid = this.#state.identity.nsid;
    const cookie = this.#cookie;
    const optLen = q.edns ? optSize(q, nsid) + (cookie === undefined ? 0 : 28) : 0;
    let n = Math.min(rt.spec.answers, plan.size);
    const sigs = ans.sigs;
    const sigLen = sigs === undefined ? 0 : sigs.size;
    // A GTM answer is a choice of addresses, not an RRset to truncate: give fewer that fit.
    const fit = Math.floor((limit - tpl.length - optLen - sigLen) / bs);
    if (fit < 1) return truncated(msg, q, true, 0, this.#state.udpSize, q.edns, scope, cookie);
    if (n > fit) n = fit;
    n = selectAnswers(plan, n, this.#rng, this.#picked, this.#scratch);
    const picked = this.#picked;
    const out = Buffer.allocUnsafe(tpl.length + n * bs + (n > 0 ? sigLen : 0) + optLen);
    out.set(tpl, 0);
    let off = tpl.length;
    const blocks = ans.blocks;
    for (let i = 0; i < n; i++) {
      copyBytes(blocks, picked[i]! * bs, out, off, bs);
      off += bs;
    }
    let an = ans.fixedAnswers + n;
    if (sigs !== undefined && n > 0) {
      const rec = sigs.get(picked, n);
      out.set(rec, off);
      off += rec.length;
      an += sigs.count;
    }
    out[6] = an >> 8;
    out[7] = an & 0xff;
    patch(out, msg, q, tpl[2]!);
    if (optLen) {
      putOpt(out, off, this.#state.udpSize, 0, q, scope, true, nsid, cookie);
      bumpArcount(out);
    }
    if (n > 0) rt.slots.picked(plans.candidates[picked[0]!]!.regionIdx);
    if (plan.failOpen) rt.slots.failOpen();
    return out;
  }

  /** Checks the query's server cookie and makes the reply's (RFC 7873 5.2, RFC 9018). */
  #cookies(msg: Buffer, q: ParsedQuery, address: string, jar: CookieJar, now: number): void {
    let ip = this.#addresses.get(address);
    if (ip === undefined && !this.#addresses.has(address)) {
      ip = clientAddressBytes(address);
      if (this.#addresses.size >= ADDRESS_CACHE_MAX) this.#addresses.clear();
      this.#addresses.set(address, ip);
    }
    if (ip === undefined) return;
    this.#cookieValid = q.cookieLen > 8 && jar.valid(msg, q.cookieOff, q.cookieOff + 8, q.cookieLen - 8, ip, now);
    jar.write(msg, q.cookieOff, ip, now, this.#cookieOut, 0);
    this.#cookie = this.#cookieOut;
  }

  /** An error reply, counted under the zone of the question's name when there is one. */
  #error(msg: Buffer, q: ParsedQuery, rcode: number, withQuestion: boolean, withOpt: boolean, address: string, tcp: boolean, ede?: number, tail?: Buffer): Buffer | undefined {
    const out = errorReply(msg, q, rcode, withQuestion, withOpt, this.#state.udpSize, ede, tail, this.#cookie);
    let slots = NO_ZONE;
    if (withQuestion) {
      const names = this.#state.cache;
      const hit = names.names.get(msg, HEADER_SIZE, q.qnameEnd) ?? names.closestAncestor(msg, HEADER_SIZE, q.qnameEnd);
      if (hit) slots = hit.zone.slots;
    }
    return this.#deliver(msg, out, rcode, slots, address, tcp, false, withOpt, -1);
  }

  /** `ecsScope` -1: the reply must not echo ECS (see truncated()). */
  #deliver(msg: Buffer, out: Buffer, rcode: number, slots: ZoneQuerySlots, address: string, tcp: boolean, aa: boolean, withOpt: boolean, ecsScope = 0): Buffer | undefined {
    // a valid server cookie proves the source address, as TCP does: no rate limit (RFC 7873 5.3)
    if (!tcp && !this.#cookieValid) {
      const rrl = this.#state.rrl;
      const category = rrl.categorize(rcode, out.length);
      if (rrl.limits(category)) {
        const verdict = rrl.check(address, category);
        if (verdict !== RrlVerdict.SEND && this.#cookie !== undefined) {
          // a cookie-speaking client gets BADCOOKIE with a fresh cookie to retry with, not silence (RFC 7873 5.4)
          countSlipped();
          out = errorReply(msg, this.#q, BADCOOKIE, true, true, this.#state.udpSize, undefined, undefined, this.#cookie);
          rcode = BADCOOKIE;
        } else if (verdict === RrlVerdict.DROP) {
          countDropped('rrl');
          return undefined;
        } else if (verdict === RrlVerdict.SLIP) {
          countSlipped();
          out = truncated(msg, this.#q, aa, rcode, this.#state.udpSize, withOpt, ecsScope, this.#cookie);
        }
      }
    }
    slots.count(rcode, tcp);
    return out;
  }

}

function optSize(q: ParsedQuery, nsid?: Buffer): number {
  return 11 + (q.ecs ? 8 + ((q.ecsSourcePrefix + 7) >> 3) : 0) + (q.nsid && nsid !== undefined ? 4 + nsid.length : 0);
}

/** Small copies: a loop beats Buffer#copy's argument checks below ~100 bytes. */
function copyBytes(src: Buffer, from: number, dst: Buffer, to: number, len: number): void {
  for (let i = 0; i < len; i++) dst[to + i] = src[from + i]!;
}

/** ID, RD and the question bytes (letter case, class) from the query. */
function patch(out: Buffer, msg: Buffer, q: ParsedQuery, flags2: number): void {
  out[0] = msg[0]!;
  out[1] = msg[1]!;
  out[2] = flags2 | (msg[2]! & Flags2.RD);
  // RFC 4035 3.1.6: CD is copied from the query; AD stays clear (an authoritative server validates nothing)
  out[3] = (out[3]! & Flags3.RCODE_MASK) | (msg[3]! & Flags3.CD);
  copyBytes(msg, HEADER_SIZE, out, HEADER_SIZE, q.questionEnd - HEADER_SIZE);
}

function bumpArcount(out: Buffer): void {
  const ar = ((out[10]! << 8) | out[11]!) + 1;
  out[10] = ar >> 8;
  out[11] = ar & 0xff;
}

/**
 * Writes an OPT RR at `off` (RFC 6891 6.1.2): our payload size, the DO bit
 * echoed (RFC 3225), ECS echoed with `scope`, our NSID when asked (RFC 5001),
 * the client's cookie with a fresh server cookie (RFC 7873), an EDE code.
 */
function putOpt(out: Buffer, off: number, udpSize: number, extRcode: number, q: ParsedQuery, scope: number, withEcs = true, nsid?: Buffer, cookie?: Buffer, ede?: number): number {
  out[off] = 0;
  out[off + 1] = 0;
  out[off + 2] = RRType.OPT;
  out[off + 3] = udpSize >> 8;
  out[off + 4] = udpSize & 0xff;
  out[off + 5] = extRcode;
  out[off + 6] = 0;
  out[off + 7] = q.dnssecOk ? 0x80 : 0;
  out[off + 8] = 0;
  let o = off + 11;
  if (q.ecs && withEcs) {
    const addrLen = (q.ecsSourcePrefix + 7) >> 3;
    out[o] = 0;
    out[o + 1] = 8;
    out[o + 2] = 0;
    out[o + 3] = 4 + addrLen;
    out[o + 4] = 0;
    out[o + 5] = q.ecsFamily;
    out[o + 6] = q.ecsSourcePrefix;
    out[o + 7] = scope;
    q.ecsAddress.copy(out, o + 8, 0, addrLen);
    o += 8 + addrLen;
  }
  if (q.nsid && nsid !== undefined) {
    out[o] = 0;
    out[o + 1] = EdnsOption.NSID;
    out[o + 2] = nsid.length >> 8;
    out[o + 3] = nsid.length & 0xff;
    nsid.copy(out, o + 4);
    o += 4 + nsid.length;
  }
  if (cookie !== undefined) {
    out[o] = 0;
    out[o + 1] = EdnsOption.COOKIE;
    out[o + 2] = 0;
    out[o + 3] = cookie.length;
    cookie.copy(out, o + 4);
    o += 4 + cookie.length;
  }
  if (ede !== undefined) {
    out.writeUInt16BE(EdnsOption.EDE, o);
    out.writeUInt16BE(2, o + 2);
    out.writeUInt16BE(ede, o + 4);
    o += 6;
  }
  const rdlen = o - off - 11;
  out[off + 9] = rdlen >> 8;
  out[off + 10] = rdlen & 0xff;
  return o;
}

/** Bytes of the options putOpt writes besides ECS and NSID. */
function extraOptLen(cookie: Buffer | undefined, ede: number | undefined): number {
  return (cookie !== undefined ? 4 + cookie.length : 0) + (ede !== undefined ? 6 : 0);
}

/**
 * An error reply: header with the query's ID, opcode and RD; optionally the
 * question and an OPT (extended rcode for BADVERS and BADCOOKIE). Never AA, no ECS.
 */
function errorReply(msg: Buffer, q: ParsedQuery, rcode: number, withQuestion: boolean, withOpt: boolean, udpSize: number, ede?: number, tail?: Buffer, cookie?: Buffer): Buffer {
  const qlen = withQuestion ? q.questionEnd - HEADER_SIZE : 0;
  const optLen = withOpt ? 11 + extraOptLen(cookie, ede) : 0;
  const tailAt = HEADER_SIZE + qlen + optLen;
  const out = Buffer.alloc(tailAt + (tail?.length ?? 0));
  out[0] = msg[0]!;
  out[1] = msg[1]!;
  out[2] = Flags2.QR | (msg[2]! & (Flags2.OPCODE_MASK | Flags2.RD));
  out[3] = (rcode & 0x0f) | (msg.length > 3 ? msg[3]! & Flags3.CD : 0);
  out[5] = withQuestion ? 1 : 0;
  out[11] = (withOpt ? 1 : 0) + (tail ? 1 : 0);
  if (withQuestion) msg.copy(out, HEADER_SIZE, HEADER_SIZE, q.questionEnd);
  if (withOpt) putOpt(out, HEADER_SIZE + qlen, udpSize, rcode >> 4, q, 0, false, undefined, cookie, ede);
  if (tail) tail.copy(out, tailAt);
  return out;
}

/**
 * TC=1 with the question and OPT but no records (what knotd sends): the client
 * retries over TCP. ECS is echoed with `ecsScope` (RFC 7871 7.2.1 asks for the
 * option in every reply to a query that had one); -1 leaves it out (the ECS
 * option was what was wrong with the query).
 */
function truncated(msg: Buffer, q: ParsedQuery, aa: boolean, rcode: number, udpSize: number, withOpt: boolean, ecsScope: number, cookie?: Buffer): Buffer {
  const qlen = q.questionEnd - HEADER_SIZE;
  const withEcs = withOpt && q.ecs && ecsScope >= 0;
  const out = Buffer.alloc(HEADER_SIZE + qlen + (withOpt ? (withEcs ? optSize(q) : 11) + extraOptLen(cookie, undefined) : 0));
  out[0] = msg[0]!;
  out[1] = msg[1]!;
  out[2] = Flags2.QR | (aa ? Flags2.AA : 0) | Flags2.TC | (msg[2]! & (Flags2.OPCODE_MASK | Flags2.RD));
  out[3] = (rcode & 0x0f) | (msg[3]! & Flags3.CD);
  out[5] = qlen > 0 ? 1 : 0;
  out[11] = withOpt ? 1 : 0;
  msg.copy(out, HEADER_SIZE, HEADER_SIZE, q.questionEnd);
  if (withOpt) putOpt(out, HEADER_SIZE + qlen, udpSize, rcode >> 4, q, withEcs ? ecsScope : 0, withEcs, undefined, cookie);
  return out;
}

/**
 * NXDOMAIN and referrals for names below a cut carry the query's own name, so
 * they are encoded now (rare for a GTM server, and NXDOMAIN is rate limited).
 */
function perQueryAnswer(msg: Buffer, q: ParsedQuery, za: ZoneAnswers, referral: Resolution | undefined): StaticAnswer {
  const qname = msg.subarray(HEADER_SIZE, q.qnameEnd);
  const signer = q.dnssecOk ? za.zone.dnssec : undefined;
  let res = referral ?? za.nxdomain;
  // signed NXDOMAIN: an NSEC naming the query's name (lowercase), signed once per name and cached
  if (signer && !referral) res = nxdomain(za.zone, lowerName(qname));
  const { answer } = encodeResolution(qname, q.qtype, res, undefined, q.qclass, signer);
  return { gtm: undefined, bytes: answer.bytes, rcode: res.rcode, aa: res.aa, zone: za };
}

/** A name synthesized from a wildcard names the query, so it is encoded (and, signed, signed) per query name. */
function wildcardAnswer(msg: Buffer, q: ParsedQuery, za: ZoneAnswers, wild: ZoneNode): StaticAnswer {
  const qname = msg.subarray(HEADER_SIZE, q.qnameEnd);
  const signer = q.dnssecOk ? za.zone.dnssec : undefined;
  const res = resolveWildcard(za.zone, wild, q.qtype, lowerName(qname));
  const { answer } = encodeResolution(qname, q.qtype, res, undefined, q.qclass, signer);
  return { gtm: undefined, bytes: answer.bytes, rcode: res.rcode, aa: res.aa, zone: za };
}

function lowerName(name: Buffer): Buffer {
  const out = Buffer.from(name);
  for (let i = 0; i < out.length; i++) {
    const c = out[i]!;
    if (c >= 0x41 && c <= 0x5a) out[i] = c | 0x20;
  }
  return out;
}
