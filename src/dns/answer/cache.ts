import { RRType } from '../wire/constants.ts';
import { isAtOrBelow, isWildcard, nameKey } from '../wire/name.ts';
import type { RegionView } from '../region-view.ts';
import type { GeoLocator } from '../geo/locator.ts';
import { planFamily, regionWeights, type FamilyPlans, type GtmNameWeights } from '../gtm/policy.ts';
import { GtmSlots, ZoneQuerySlots } from '../metrics.ts';
import { nxdomain, resolve, type Resolution } from '../zone/resolve.ts';
import type { CompiledZone, GtmSpec, ZoneNode } from '../zone/types.ts';
import { encodeResolution } from './encode.ts';
import { NameTable } from './name-table.ts';
import { GtmSignatures } from './gtm-sigs.ts';

export interface ZoneAnswers {
  zone: CompiledZone;
  slots: ZoneQuerySlots;
  /** NXDOMAIN depends on the query name, so it is encoded per query from this. */
  nxdomain: Resolution;
}

/** Live GTM state of one name: plans are swapped when the region view changes. */
export class GtmRuntime {
  readonly spec: GtmSpec;
  readonly slots: GtmSlots;
  v4: FamilyPlans | undefined;
  v6: FamilyPlans | undefined;
  weights!: GtmNameWeights;

  constructor(spec: GtmSpec) {
    this.spec = spec;
    this.slots = new GtmSlots(spec.fqdn, spec.regions.map((r) => r.region));
  }

  refresh(view: RegionView, locator: GeoLocator): void {
    const weights = regionWeights(this.spec, view);
    const v4 = planFamily(this.spec, weights, 4, locator);
    const v6 = planFamily(this.spec, weights, 6, locator);
    this.v4 = v4;
    this.v6 = v6;
    this.weights = { name: this.spec.fqdn, failOpen: Boolean(v4?.failOpen || v6?.failOpen), regions: weights };
  }
}

export interface StaticAnswer {
  gtm: undefined;
  /** The DNSSEC form for DO queries when the zone is signed. */
  signed?: StaticAnswer;
  /** Complete response minus ID, RD, question bytes and OPT. */
  bytes: Buffer;
  rcode: number;
  aa: boolean;
  zone: ZoneAnswers;
}

export interface GtmAnswer {
  gtm: GtmRuntime;
  signed?: GtmAnswer;
  /** In the signed form: the RRSIGs of the picked address set. */
  sigs?: GtmSignatures;
  family: 4 | 6;
  /** Header, question and any CNAME chain before the addresses. */
  bytes: Buffer;
  fixedAnswers: number;
  /** One encoded address record per candidate, in FamilyPlans.candidates order. */
  blocks: Buffer;
  blockSize: number;
  rcode: 0;
  aa: true;
  zone: ZoneAnswers;
}

export type Answer = StaticAnswer | GtmAnswer;

export interface NameAnswers {
  zone: ZoneAnswers;
  /** Precomputed per query type. */
  types: Map<number, Answer>;
  /** Every other type: NODATA, the CNAME chain to NODATA, or the referral. */
  other: Answer;
  /** At or below a delegation: names under it get this referral, encoded per query for their name. */
  referral: Resolution | undefined;
  /** `*.<this name>` when it exists: missing names right below are synthesized from it (RFC 4592). */
  wildcard?: ZoneNode;
}

/** A type that never occurs in zone data: resolving it gives the generic answer. */
const ABSENT_TYPE = 65280;

/**
 * Every answer the zones can give, encoded once: keyed by name (lowercase
 * wire form) and type; GTM answers add the client's region through their
 * plans. Rebuilt whole on a config change; GTM plans refresh in place on a
 * region-view change.
 */
export class AnswerCache {
  readonly names: NameTable<NameAnswers>;
  readonly zones: ZoneAnswers[];
  readonly gtm: GtmRuntime[] = [];
  readonly locator: GeoLocator;

  constructor(zones: CompiledZone[], locator: GeoLocator, view: RegionView) {
    this.locator = locator;
    // the unsigned NXDOMAIN names no name; the signed one is made per query (its NSEC names the query)
    this.zones = zones.map((zone) => ({ zone, slots: new ZoneQuerySlots(zone.originText), nxdomain: nxdomain(zone) }));
    const runtimes = new Map<GtmSpec, GtmRuntime>();
    const runtimeOf = (spec: GtmSpec) => {
      let rt = runtimes.get(spec);
      if (!rt) {
        rt = new GtmRuntime(spec);
        rt.refresh(view, locator);
        runtimes.set(spec, rt);
        this.gtm.push(rt);
      }
      return rt;
    };
    const entries: [Buffer, NameAnswers][] = [];
    for (const za of this.zones) {
      const deeper = this.zones.filter((o) => o !== za && isAtOrBelow(o.zone.origin, za.zone.origin)).map((o) => o.zone.origin);
      for (const node of za.zone.nodes.values()) {
        // a name inside a child zone served here is the child's
        if (deeper.some((o) => isAtOrBelow(node.name, o))) continue;
        entries.push([node.name, this.#nameAnswers(za, node, runtimeOf)]);
      }
    }
    this.names = new NameTable(entries);
    // a wildcard serves the missing names below its parent (the closest encloser)
    for (const [name] of entries) {
      if (!isWildcard(name)) continue;
      const parent = this.names.get(name, 2, name.length);
      const wild = this.names.get(name, 0, name.length);
      if (parent && wild) parent.wildcard = wild.zone.zone.nodes.get(nameKey(name));
    }
  }

  refreshGtm(view: RegionView): void {
    for (const rt of this.gtm) rt.refresh(view, this.locator);
  }

  #nameAnswers(za: ZoneAnswers, node: ZoneNode, runtimeOf: (s: GtmSpec) => GtmRuntime): NameAnswers {
    const types = new Set<number>([RRType.ANY, RRType.A, RRType.AAAA, ...node.rrsets.keys()]);
    if (node.cut) types.add(RRType.DS);
    if (node.rrsets.has(RRType.CNAME)) {
      // the chain's answer depends on the type: cover every type the zone holds
      for (const n of za.zone.nodes.values()) for (const t of n.rrsets.keys()) types.add(t);
    }
    const build = (qtype: number): Answer => this.#encode(za, node, qtype, resolve(za.zone, node, qtype), runtimeOf);
    const other = build(ABSENT_TYPE);
    const map = new Map<number, Answer>();
    for (const t of types) map.set(t, build(t));
    const referral = node.delegatedAt !== undefined ? resolve(za.zone, node, ABSENT_TYPE) : undefined;
    return { zone: za, types: map, other, referral };
  }

  #encode(za: ZoneAnswers, node: ZoneNode, qtype: number, res: Resolution, runtimeOf: (s: GtmSpec) => GtmRuntime): Answer {
    const signer = za.zone.dnssec;
    if (!res.gtm) {
      const { answer } = encodeResolution(node.name, qtype, res);
      const plain: StaticAnswer = { gtm: undefined, bytes: answer.bytes, rcode: res.rcode, aa: res.aa, zone: za };
      if (signer) {
        const signed = encodeResolution(node.name, qtype, res, undefined, undefined, signer).answer;
        plain.signed = { gtm: undefined, bytes: signed.bytes, rcode: res.rcode, aa: res.aa, zone: za };
      }
      return plain;
    }
    const rt = runtimeOf(res.gtm.spec);
    const plans = res.gtm.family === 4 ? rt.v4 : rt.v6;
    const { answer, gtm } = encodeResolution(node.name, qtype, res, plans!.candidates);
    const plain: GtmAnswer = {
      gtm: rt,
      family: res.gtm.family,
      bytes: answer.bytes,
      fixedAnswers: answer.ancount,
      blocks: gtm!.blocks,
      blockSize: gtm!.blockSize,
      rcode: 0,
      aa: true,
      zone: za,
    };
    if (signer) {
      const s = encodeResolution(node.name, qtype, res, plans!.candidates, undefined, signer);
      const addrLen = res.gtm.family === 4 ? 4 : 16;
      const ownerBytes = s.gtm!.blocks.subarray(0, s.gtm!.blockSize - 10 - addrLen);
      const type = res.gtm.family === 4 ? RRType.A : RRType.AAAA;
      const sigs = new GtmSignatures(signer, res.gtm.owner, Buffer.from(ownerBytes), type, res.gtm.spec.ttl, plans!.candidates.map((c) => c.address));
      plain.signed = { ...plain, bytes: s.answer.bytes, fixedAnswers: s.answer.ancount, blocks: s.gtm!.blocks, blockSize: s.gtm!.blockSize, sigs };
    }
    return plain;
  }

  /**
   * For a name with no entry (the wire name in `msg[start, end)`): the
   * closest existing ancestor decides between a referral (below a cut),
   * NXDOMAIN (inside a zone) and REFUSED (undefined).
   */
  closestAncestor(msg: Buffer, start: number, end: number): NameAnswers | undefined {
    let i = start;
    for (;;) {
      const len = msg[i]!;
      if (len === 0 || i >= end) return undefined;
      i += len + 1;
      const hit = this.names.get(msg, i, end);
      if (hit) return hit;
    }
  }
}
