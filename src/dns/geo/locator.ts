import { CidrTrie } from './cidr-trie.ts';
import { parseCidr } from './cidr.ts';
import type { MmdbRegionMap } from './mmdb.ts';
import { clientAddressBytes, formatIp } from '../wire/ip.ts';

/** Where a client is, as far as GTM cares. */
export interface GeoResult {
  /** Index into the locator's region list, -1 when unknown. */
  region: number;
  /** Leading address bits that decide `region` (the ECS scope of a geo answer). */
  scope: number;
}

const NOWHERE: GeoResult = Object.freeze({ region: -1, scope: 0 });
const ADDRESS_CACHE_MAX = 4096;

/**
 * Client address -> region: the configured CIDR table first (longest prefix
 * wins), then the MMDB country map. Resolver addresses repeat, so their
 * results are cached; ECS prefixes are looked up each time (a trie walk).
 */
export class GeoLocator {
  readonly regions: readonly string[];
  readonly #regionIndex: Map<string, number>;
  readonly #v4 = new CidrTrie<number>(4);
  readonly #v6 = new CidrTrie<number>(6);
  readonly #mmdb: MmdbRegionMap | undefined;
  readonly #cache = new Map<string, GeoResult>();

  /** `networks` must already be valid (cross-check parsed them). */
  constructor(networks: readonly { cidr: string; region: string }[], mmdb?: MmdbRegionMap, extraRegions: readonly string[] = []) {
    const regions: string[] = [];
    this.#regionIndex = new Map();
    const idx = (r: string) => {
      let i = this.#regionIndex.get(r);
      if (i === undefined) {
        i = regions.length;
        regions.push(r);
        this.#regionIndex.set(r, i);
      }
      return i;
    };
    for (const n of networks) {
      const c = parseCidr(n.cidr);
      (c.family === 4 ? this.#v4 : this.#v6).insert(c.bytes, c.prefix, idx(n.region));
    }
    for (const r of extraRegions) idx(r);
    this.regions = regions;
    this.#mmdb = mmdb;
  }

  /** True when no client can be placed anywhere: GTM answers never depend on the client. */
  get empty(): boolean {
    return this.#v4.size === 0 && this.#v6.size === 0 && !this.#mmdb;
  }

  regionIndex(region: string): number {
    return this.#regionIndex.get(region) ?? -1;
  }

  /**
   * Locates the first `bits` bits of an address (ECS). The scope is the bits
   * the geo data used, and never more than `bits`: the answer was chosen from
   * those bits only, so it cannot claim to depend on more (a /16 source inside
   * a mapped /24 is answered for the /16 and says so; RFC 7871 7.3.1 has
   * resolvers treat a longer scope as the source length anyway).
   */
  locateBytes(bytes: Uint8Array, family: 4 | 6, bits: number): GeoResult {
    if (bits === 0) return NOWHERE;
    const m = (family === 4 ? this.#v4 : this.#v6).lookup(bytes, bits);
    if (m.value !== undefined || !this.#mmdb) return { region: m.value ?? -1, scope: Math.min(m.decidedBits, bits) };
    const mm = this.#mmdb.lookup(formatIp(family === 4 ? bytes.subarray(0, 4) : bytes.subarray(0, 16)));
    const region = mm.region === undefined ? -1 : this.regionIndex(mm.region);
    return { region, scope: Math.min(Math.max(m.decidedBits, mm.prefix), bits) };
  }

  /** Locates a socket peer address (`rinfo.address`); cached per address. */
  locateAddress(address: string): GeoResult {
    const hit = this.#cache.get(address);
    if (hit) return hit;
    const bytes = clientAddressBytes(address);
    const r = bytes ? this.locateBytes(bytes, bytes.length === 4 ? 4 : 6, bytes.length * 8) : NOWHERE;
    const frozen = r === NOWHERE ? r : { region: r.region, scope: r.scope };
    if (this.#cache.size >= ADDRESS_CACHE_MAX) this.#cache.clear();
    this.#cache.set(address, frozen);
    return frozen;
  }
}
