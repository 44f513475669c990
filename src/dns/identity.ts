import { hostname } from 'node:os';
import type { DnsConfig } from '../config/schema/index.ts';
import { Flags2, HEADER_SIZE, RRClass, RRType } from './wire/constants.ts';
import { nameFromText, nameKey } from './wire/name.ts';
import { lowerKeyOf } from './wire/name.ts';
import type { ParsedQuery } from './wire/query.ts';
import { IDENTITY_DEFAULTS } from './options.ts';

/** What this nameserver says about itself: NSID (RFC 5001) and the CH TXT names. */
export interface Identity {
  /** NSID option payload, or undefined when NSID is off. */
  nsid: Buffer | undefined;
  /** CH TXT answers by lowercase wire name (latin1 key). */
  chaos: Map<string, Buffer>;
}

const PACKAGE_VERSION = '0.1.0';

function text(value: boolean | string | undefined, fallback: string | undefined): string | undefined {
  if (value === false) return undefined;
  if (typeof value === 'string') return value;
  return value === true || value === undefined ? fallback : undefined;
}

/**
 * `dns.identity`: `serverId` (default the host name) answers NSID and CH TXT
 * `id.server` / `hostname.bind`; `version` (default off) answers
 * `version.bind` / `version.server`. Each is a string, true (the default
 * text) or false (off). Off means REFUSED, as for any CH name.
 */
export function identityFrom(config: DnsConfig['identity']): Identity {
  const id = text(config?.serverId, hostname());
  const nsidOn = config?.nsid ?? IDENTITY_DEFAULTS.nsid;
  const version = text(config?.version ?? IDENTITY_DEFAULTS.version, `edgeplane ${PACKAGE_VERSION}`);
  const chaos = new Map<string, Buffer>();
  const put = (name: string, value: string | undefined) => {
    if (value !== undefined) chaos.set(nameKey(nameFromText(name)), Buffer.from(value, 'utf8').subarray(0, 255));
  };
  put('id.server', id);
  put('hostname.bind', id);
  put('version.bind', version);
  put('version.server', version);
  return { nsid: nsidOn && id !== undefined ? Buffer.from(id, 'utf8') : undefined, chaos };
}

/**
 * The reply to a CH-class query for one of our identity names, or undefined
 * when the name isn't one (the caller refuses it). TXT and ANY get the text;
 * other types an empty answer.
 */
export function chaosReply(msg: Buffer, q: ParsedQuery, identity: Identity): Buffer | undefined {
  const value = identity.chaos.get(lowerKeyOf(msg, HEADER_SIZE, q.qnameEnd));
  if (value === undefined) return undefined;
  const withTxt = q.qtype === RRType.TXT || q.qtype === RRType.ANY;
  const qlen = q.questionEnd - HEADER_SIZE;
  const rr = withTxt ? 2 + 10 + 1 + value.length : 0;
  const out = Buffer.alloc(HEADER_SIZE + qlen + rr);
  out[0] = msg[0]!;
  out[1] = msg[1]!;
  out[2] = Flags2.QR | Flags2.AA | (msg[2]! & Flags2.RD);
  out[5] = 1;
  out[7] = withTxt ? 1 : 0;
  msg.copy(out, HEADER_SIZE, HEADER_SIZE, q.questionEnd);
  if (withTxt) {
    let o = HEADER_SIZE + qlen;
    out.writeUInt16BE(0xc000 | HEADER_SIZE, o);
    out.writeUInt16BE(RRType.TXT, o + 2);
    out.writeUInt16BE(RRClass.CH, o + 4);
    out.writeUInt32BE(0, o + 6);
    out.writeUInt16BE(1 + value.length, o + 10);
    o += 12;
    out[o] = value.length;
    value.copy(out, o + 1);
  }
  return out;
}
