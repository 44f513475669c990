import { Flags2, HEADER_SIZE, RRClass, RRType } from '../wire/constants.ts';
import type { WireName } from '../wire/name.ts';
import { writeRData } from '../wire/rdata.ts';
import { MessageWriter } from '../wire/writer.ts';
import type { OwnedRRset, Resolution } from '../zone/resolve.ts';
import type { Candidate } from '../gtm/policy.ts';
import { DnsError } from '../errors.ts';
import type { ZoneSigner } from '../dnssec/signer.ts';

/**
 * A response without ID, RD, question case and OPT: those are patched in per
 * query. `bytes` is complete; for GTM answers it ends where the chosen
 * address records go (see GtmTemplate).
 */
export interface EncodedAnswer {
  bytes: Buffer;
  ancount: number;
}

/** Fixed-size address records a GTM answer is assembled from, one per candidate. */
export interface GtmBlocks {
  blocks: Buffer;
  blockSize: number;
}

function writeHeader(w: MessageWriter, res: Resolution, rcode: number): void {
  w.u16(0);
  w.u8(Flags2.QR | (res.aa ? Flags2.AA : 0));
  w.u8(rcode & 0x0f);
  w.u16(1).u16(0).u16(0).u16(0);
}

/** Sets made for one query name are signed through the bounded ad-hoc cache, keyed by owner and type. */
function signaturesOf(signer: ZoneSigner, set: OwnedRRset): Buffer[] {
  return set.adhoc ? signer.signAdhoc(`${set.rrset.type}/${set.owner.toString('latin1')}`, set.owner, set.rrset) : signer.sign(set.owner, set.rrset);
}

/** Writes the RRsets, each followed by its RRSIGs when `signer` is given; returns the record count. */
function writeSets(w: MessageWriter, sets: OwnedRRset[], signer?: ZoneSigner): number {
  let n = 0;
  for (const set of sets) {
    const { owner, rrset } = set;
    for (const rd of rrset.rdatas) {
      w.name(owner).u16(rrset.type).u16(RRClass.IN).u32(rrset.ttl);
      const lenAt = w.length;
      w.u16(0);
      writeRData(w, rd);
      w.patchU16(lenAt, w.length - lenAt - 2);
      n++;
    }
    if (!signer || set.unsigned) continue;
    for (const sig of signaturesOf(signer, set)) {
      w.name(owner).u16(RRType.RRSIG).u16(RRClass.IN).u32(rrset.ttl).u16(sig.length).bytes(sig);
      n++;
    }
  }
  return n;
}

/**
 * Encodes a resolution for `qname` (lowercase; the query's own bytes replace it
 * per query, which is how the question's case is echoed and why every owner
 * name compresses against it). With `candidates`, also encodes one address
 * record per candidate, each compressed against names already written so all
 * have the same size.
 */
export function encodeResolution(qname: WireName, qtype: number, res: Resolution, candidates?: Candidate[], qclass: number = RRClass.IN, signer?: ZoneSigner): { answer: EncodedAnswer; gtm?: GtmBlocks } {
  const w = new MessageWriter(512);
  // RFC 9824 3.2: a compact denial of a missing name is NOERROR on the wire
  writeHeader(w, res, signer && res.nxname ? 0 : res.rcode);
  w.name(qname).u16(qtype).u16(qclass);
  if (w.length !== HEADER_SIZE + qname.length + 4) throw new DnsError('EP_DNS_INTERNAL', 'question must be written uncompressed');
  const an = writeSets(w, res.answer, signer);
  const authority = signer && res.nsec ? [...res.authority, res.nsec] : res.authority;
  const ns = writeSets(w, authority, signer);
  const ar = writeSets(w, res.additional, signer);
  w.patchU16(6, an);
  w.patchU16(8, ns);
  w.patchU16(10, ar);
  const answer = { bytes: w.finish(), ancount: an };
  if (!res.gtm || !candidates) return { answer };
  if (res.authority.length || res.additional.length) throw new DnsError('EP_DNS_INTERNAL', 'a GTM answer cannot carry authority or additional records');
  const type = res.gtm.family === 4 ? RRType.A : RRType.AAAA;
  const start = w.length;
  let blockSize = -1;
  for (const c of candidates) {
    const before = w.length;
    w.name(res.gtm.owner).u16(type).u16(RRClass.IN).u32(res.gtm.spec.ttl).u16(c.address.length).bytes(c.address);
    const size = w.length - before;
    if (blockSize >= 0 && size !== blockSize) throw new DnsError('EP_DNS_INTERNAL', 'GTM address records differ in size');
    blockSize = size;
  }
  const all = w.finish();
  return { answer, gtm: { blocks: all.subarray(start), blockSize } };
}
