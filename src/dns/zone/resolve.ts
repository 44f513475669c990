import { Rcode, RRType } from '../wire/constants.ts';
import { isAtOrBelow, nameKey, type WireName } from '../wire/name.ts';
import { additionalTarget } from '../wire/rdata.ts';
import type { CompiledZone, GtmSpec, RRset, ZoneNode } from './types.ts';
import { compactNsec } from '../dnssec/signer.ts';

export interface OwnedRRset {
  owner: WireName;
  rrset: RRset;
  /** Not signed even in a signed zone: a delegation's NS and glue belong to the child. */
  unsigned?: boolean;
  /** Made for one query name (wildcard synthesis, a missing name's NSEC): signed through the bounded ad-hoc cache. */
  adhoc?: boolean;
}

/**
 * What the answer to (name, type) consists of, independent of the query's
 * ID, case and EDNS. The answer cache encodes this once per config.
 */
export interface Resolution {
  rcode: number;
  aa: boolean;
  answer: OwnedRRset[];
  /** GTM addresses that follow `answer`, chosen per query. */
  gtm?: { spec: GtmSpec; family: 4 | 6; owner: WireName };
  authority: OwnedRRset[];
  additional: OwnedRRset[];
  /** Signed zones: the compact-denial NSEC that goes after the authority section's SOA (or NS) for DO queries. */
  nsec?: OwnedRRset;
  /** The NSEC says the name does not exist (NXNAME): on the wire to DO queries the rcode is NOERROR (RFC 9824 3.2). */
  nxname?: boolean;
}

const MAX_CHAIN = 8;

/** Types present at a node for its NSEC bitmap: a cut has only its NS (the rest is glue). */
export function typesAt(node: ZoneNode): number[] {
  const types = node.cut ? [RRType.NS] : [...node.rrsets.keys()];
  if (gtmFamily(node, RRType.A)) types.push(RRType.A);
  if (gtmFamily(node, RRType.AAAA)) types.push(RRType.AAAA);
  return [...types, RRType.RRSIG, RRType.NSEC];
}

/** NSEC proving `name` (no node) does not exist, compact style. */
export function nxnameNsec(zone: CompiledZone, name: WireName): OwnedRRset {
  return { owner: name, rrset: compactNsec(name, [RRType.RRSIG, RRType.NSEC, RRType.NXNAME], zone.negativeTtl), adhoc: true };
}

/**
 * The answer for `qname` (lowercase, no node of its own) synthesized from the
 * wildcard `wild` of its closest encloser (RFC 4592 3.3.1): the wildcard's
 * data with `qname` as owner. Signed zones sign it as `qname` (an online
 * signer may: the validator sees an ordinary answer, no wildcard proof needed),
 * and a NODATA gets a compact NSEC at `qname` with the wildcard's types.
 */
export function resolveWildcard(zone: CompiledZone, wild: ZoneNode, qtype: number, qname: WireName): Resolution {
  const res = resolve(zone, wild, qtype);
  const own = (s: OwnedRRset): OwnedRRset => (s.owner === wild.name ? { ...s, owner: qname, adhoc: true } : s);
  return {
    ...res,
    answer: res.answer.map(own),
    nsec: res.nsec && res.nsec.owner === wild.name ? { owner: qname, rrset: compactNsec(qname, typesAt(wild), zone.negativeTtl), adhoc: true } : res.nsec,
  };
}

function soaOf(zone: CompiledZone): OwnedRRset {
  // RFC 2308 3: the SOA's TTL is capped by its MINIMUM field
  return { owner: zone.origin, rrset: zone.negativeSoa };
}

/** NODATA at `node` (it exists), or NXDOMAIN for `missing` (a CNAME target with no node, RFC 6604). */
function negative(zone: CompiledZone, rcode: number, answer: OwnedRRset[], node: ZoneNode | undefined, missing?: WireName): Resolution {
  const res: Resolution = { rcode, aa: true, answer, authority: [soaOf(zone)], additional: [] };
  if (zone.dnssec) {
    if (node) res.nsec = { owner: node.name, rrset: compactNsec(node.name, typesAt(node), zone.negativeTtl) };
    else if (missing) {
      res.nsec = nxnameNsec(zone, missing);
      res.nxname = true;
    }
  }
  return res;
}

function gtmFamily(node: ZoneNode, qtype: number): 4 | 6 | undefined {
  if (!node.gtm) return undefined;
  if (qtype === RRType.A && node.gtm.regions.some((r) => r.v4.length > 0)) return 4;
  if (qtype === RRType.AAAA && node.gtm.regions.some((r) => r.v6.length > 0)) return 6;
  return undefined;
}

/** A/AAAA of in-zone targets of NS, MX and SRV records (RFC 1035 3.3, glue included). */
function additionalFor(zone: CompiledZone, sets: OwnedRRset[]): OwnedRRset[] {
  const out: OwnedRRset[] = [];
  const seen = new Set<string>();
  for (const { rrset } of sets) {
    for (const rd of rrset.rdatas) {
      const target = additionalTarget(rd);
      if (!target || !isAtOrBelow(target, zone.origin)) continue;
      const key = nameKey(target);
      if (seen.has(key)) continue;
      seen.add(key);
      const n = zone.nodes.get(key);
      if (!n) continue;
      for (const t of [RRType.A, RRType.AAAA]) {
        const s = n.rrsets.get(t);
        // glue below a cut is the child's data: never signed
        if (s) out.push({ owner: n.name, rrset: s, unsigned: n.delegatedAt !== undefined });
      }
    }
  }
  return out;
}

function referral(zone: CompiledZone, cut: ZoneNode): Resolution {
  const ns = { owner: cut.name, rrset: cut.rrsets.get(RRType.NS)!, unsigned: true };
  const res: Resolution = { rcode: Rcode.NOERROR, aa: false, answer: [], authority: [ns], additional: additionalFor(zone, [ns]) };
  // edgeplane has no DS records: a signed parent proves the child is unsigned (RFC 4035 3.1.4)
  if (zone.dnssec) res.nsec = { owner: cut.name, rrset: compactNsec(cut.name, typesAt(cut), zone.negativeTtl) };
  return res;
}

/** The one RRset an ANY query gets (RFC 8482 4.1): the lowest type present, GTM addresses included. */
function anyChoice(node: ZoneNode): number | undefined {
  const types = [...node.rrsets.keys()];
  if (gtmFamily(node, RRType.A)) types.push(RRType.A);
  if (gtmFamily(node, RRType.AAAA)) types.push(RRType.AAAA);
  return types.length ? Math.min(...types) : undefined;
}

/**
 * Answers (node, qtype) from zone data: referral below a cut, CNAME chains
 * inside the zone, NODATA with the SOA, GTM names as a dynamic tail.
 */
export function resolve(zone: CompiledZone, node: ZoneNode, qtype: number): Resolution {
  if (node.delegatedAt && !(qtype === RRType.DS && node.key === node.delegatedAt)) {
    return referral(zone, zone.nodes.get(node.delegatedAt)!);
  }
  const type = qtype === RRType.ANY ? anyChoice(node) : qtype;
  if (type === undefined) return negative(zone, Rcode.NOERROR, [], node);

  const answer: OwnedRRset[] = [];
  let current = node;
  const visited = new Set<string>();
  for (let hop = 0; hop <= MAX_CHAIN; hop++) {
    visited.add(current.key);
    const exact = current.rrsets.get(type);
    if (exact) {
      answer.push({ owner: current.name, rrset: exact });
      return { rcode: Rcode.NOERROR, aa: true, answer, authority: [], additional: additionalFor(zone, [{ owner: current.name, rrset: exact }]) };
    }
    const family = gtmFamily(current, type);
    if (family) return { rcode: Rcode.NOERROR, aa: true, answer, gtm: { spec: current.gtm!, family, owner: current.name }, authority: [], additional: [] };
    const cname = current.rrsets.get(RRType.CNAME);
    if (!cname || type === RRType.CNAME) return negative(zone, Rcode.NOERROR, answer, current);
    answer.push({ owner: current.name, rrset: cname });
    const target = (cname.rdatas[0] as { target: WireName }).target;
    // out of zone, or into a delegation: the resolver follows it from here
    if (!isAtOrBelow(target, zone.origin)) break;
    const next = zone.nodes.get(nameKey(target));
    // RFC 6604: the rcode describes the last name in the chain
    if (!next) return negative(zone, Rcode.NXDOMAIN, answer, undefined, target);
    if (next.delegatedAt || visited.has(next.key)) break;
    current = next;
  }
  return { rcode: Rcode.NOERROR, aa: true, answer, authority: [], additional: [] };
}

/**
 * NXDOMAIN for a name inside the zone that has no node. `name` (lowercase)
 * is needed only for the signed form, whose NSEC names it.
 */
export function nxdomain(zone: CompiledZone, name?: WireName): Resolution {
  return negative(zone, Rcode.NXDOMAIN, [], undefined, name);
}
