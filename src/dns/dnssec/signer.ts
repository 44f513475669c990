import { RRClass, RRType } from '../wire/constants.ts';
import { labelCount, nameKey, type WireName } from '../wire/name.ts';
import { writeRData, type RData } from '../wire/rdata.ts';
import { MessageWriter } from '../wire/writer.ts';
import type { RRset } from '../zone/types.ts';
import { signData, type ZoneKey } from './keys.ts';

/** Inception is set this far back so validators with a slow clock accept new signatures. */
export const INCEPTION_SKEW_S = 3600;
/** Ad-hoc signatures (per-query denial, GTM address sets) kept per zone. */
const ADHOC_CACHE_MAX = 16_384;

/** RDATA in canonical form (RFC 4034 6.2): names uncompressed and lowercase (config names already are). */
export function canonicalRdata(rd: RData): Buffer {
  const w = new MessageWriter(64, false);
  writeRData(w, rd);
  return w.finish();
}

/** Types that only the keys the parent points at sign (RFC 4035 2.2, RFC 7344 4.1). */
function signedBySep(type: number): boolean {
  return type === RRType.DNSKEY || type === RRType.CDS || type === RRType.CDNSKEY;
}

/**
 * Signs RRsets of one zone with its active keys for one validity window
 * (fixed when the signer is made; the server makes a new one every
 * `refresh`). Signatures of zone data are cached per RRset object, ad-hoc
 * sets (the per-query NSEC of a missing name, a GTM pick of several
 * addresses) in a bounded map keyed by content.
 */
export class ZoneSigner {
  readonly origin: WireName;
  readonly keys: readonly ZoneKey[];
  readonly inception: number;
  readonly expiration: number;
  readonly #zoneSigners: ZoneKey[];
  readonly #sepSigners: ZoneKey[];
  readonly #byRRset = new WeakMap<RRset, Map<string, Buffer[]>>();
  readonly #adhoc = new Map<string, Buffer[]>();
  /** Signatures made (a counter for tests and metrics: cache hits don't count). */
  signatures = 0;

  constructor(origin: WireName, keys: readonly ZoneKey[], nowMs: number, validityMs: number) {
    this.origin = origin;
    this.keys = keys;
    const now = Math.floor(nowMs / 1000);
    this.inception = now - INCEPTION_SKEW_S;
    this.expiration = now + Math.floor(validityMs / 1000);
    const active = keys.filter((k) => k.state === 'active');
    this.#zoneSigners = active.filter((k) => k.role !== 'ksk');
    this.#sepSigners = active.filter((k) => k.role !== 'zsk');
  }

  /** How many RRSIGs each RRset of `type` gets. */
  signatureCount(type: number): number {
    return (signedBySep(type) ? this.#sepSigners : this.#zoneSigners).length;
  }

  /** RRSIG RDATAs over a zone RRset at `owner` (lowercase wire name), one per signing key. */
  sign(owner: WireName, rrset: RRset): Buffer[] {
    let perOwner = this.#byRRset.get(rrset);
    if (!perOwner) {
      perOwner = new Map();
      this.#byRRset.set(rrset, perOwner);
    }
    const k = nameKey(owner);
    let sigs = perOwner.get(k);
    if (!sigs) {
      sigs = this.signRdatas(owner, rrset.type, rrset.ttl, rrset.rdatas.map(canonicalRdata));
      perOwner.set(k, sigs);
    }
    return sigs;
  }

  /** Like sign() for a set built per query; `cacheKey` names its content. */
  signAdhoc(cacheKey: string, owner: WireName, rrset: RRset): Buffer[] {
    let sigs = this.#adhoc.get(cacheKey);
    if (!sigs) {
      sigs = this.signRdatas(owner, rrset.type, rrset.ttl, rrset.rdatas.map(canonicalRdata));
      if (this.#adhoc.size >= ADHOC_CACHE_MAX) this.#adhoc.clear();
      this.#adhoc.set(cacheKey, sigs);
    }
    return sigs;
  }

  /** RFC 4034 3.1.8.1: the RRSIG RDATA minus the signature, then the RRs in canonical order. */
  signRdatas(owner: WireName, type: number, ttl: number, rdatas: Buffer[]): Buffer[] {
    const signers = signedBySep(type) ? this.#sepSigners : this.#zoneSigners;
    const sorted = [...rdatas].sort(Buffer.compare);
    const rrs: Buffer[] = [];
    for (const rd of sorted) {
      const head = Buffer.alloc(10);
      head.writeUInt16BE(type, 0);
      head.writeUInt16BE(RRClass.IN, 2);
      head.writeUInt32BE(ttl, 4);
      head.writeUInt16BE(rd.length, 8);
      rrs.push(owner, head, rd);
    }
    // a wildcard owner's "*" label is not counted (RFC 4034 3.1.3)
    const labels = labelCount(owner) - (owner[0] === 1 && owner[1] === 0x2a ? 1 : 0);
    return signers.map((key) => {
      const prefix = Buffer.alloc(18 + this.origin.length);
      prefix.writeUInt16BE(type, 0);
      prefix[2] = key.algorithm;
      prefix[3] = labels;
      prefix.writeUInt32BE(ttl, 4);
      prefix.writeUInt32BE(this.expiration >>> 0, 8);
      prefix.writeUInt32BE(this.inception >>> 0, 12);
      prefix.writeUInt16BE(key.tag, 16);
      this.origin.copy(prefix, 18);
      this.signatures++;
      const sig = signData(key, Buffer.concat([prefix, ...rrs]));
      return Buffer.concat([prefix, sig]);
    });
  }
}

/** The NSEC type bitmap (RFC 4034 4.1.2) of `types`. */
export function typeBitmap(types: readonly number[]): Buffer {
  const sorted = [...new Set(types)].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let i = 0;
  while (i < sorted.length) {
    const win = sorted[i]! >> 8;
    const bits = Buffer.alloc(32);
    let len = 0;
    for (; i < sorted.length && sorted[i]! >> 8 === win; i++) {
      const low = sorted[i]! & 0xff;
      bits[low >> 3]! |= 0x80 >> (low & 7);
      len = (low >> 3) + 1;
    }
    parts.push(Buffer.from([win, len]), bits.subarray(0, len));
  }
  return Buffer.concat(parts);
}

/**
 * A compact-denial NSEC (RFC 9824): owner `name`, next name the immediate
 * successor `\000.name`, so it covers nothing but the name itself and
 * reveals no other name of the zone.
 */
export function compactNsec(name: WireName, types: readonly number[], ttl: number): RRset {
  const next = Buffer.concat([Buffer.from([1, 0]), name]);
  return { type: RRType.NSEC, ttl, rdatas: [{ type: RRType.NSEC, raw: Buffer.concat([next, typeBitmap(types)]) }] };
}
