import type { RData } from '../wire/rdata.ts';
import type { WireName } from '../wire/name.ts';
import type { ZoneSigner } from '../dnssec/signer.ts';

export interface RRset {
  type: number;
  ttl: number;
  rdatas: RData[];
}

export interface GtmRegionSpec {
  region: string;
  weight: number;
  /** Config text of every VIP, for the weights view. */
  vips: string[];
  v4: Buffer[];
  v6: Buffer[];
  fallback: string[];
}

/** A GTM name as compiled from the config: the policy input, not an answer. */
export interface GtmSpec {
  /** Presentation name without the trailing dot, e.g. `api.svc.plus`. */
  fqdn: string;
  name: WireName;
  ttl: number;
  /** Addresses per answer; Infinity for `all`. */
  answers: number;
  regions: GtmRegionSpec[];
}

export interface ZoneNode {
  name: WireName;
  key: string;
  /** Empty for empty non-terminals. */
  rrsets: Map<number, RRset>;
  gtm?: GtmSpec;
  /** NS below the apex: a delegation point. */
  cut: boolean;
  /** Set on names at or below a cut (the cut itself included): the cut's key. */
  delegatedAt?: string;
}

export interface CompiledZone {
  index: number;
  origin: WireName;
  originKey: string;
  /** `svc.plus` (metrics label, logs). */
  originText: string;
  soa: RRset;
  /** RFC 2308 5: min(SOA TTL, SOA minimum). */
  negativeTtl: number;
  /** The SOA with that TTL, as negative answers carry it (one object, so its signature is cached). */
  negativeSoa: RRset;
  nodes: Map<string, ZoneNode>;
  /** Set when the zone is signed (the server attaches it after loading the keys). */
  dnssec?: ZoneSigner;
}
