import type { DnsConfig } from '../config/schema/index.ts';
import type { Clock } from '../util/clock.ts';
import { CidrTrie } from './geo/cidr-trie.ts';
import { parseCidr } from './geo/cidr.ts';
import { clientAddressBytes } from './wire/ip.ts';
import { RRL_DEFAULTS } from './options.ts';

/** What a response counts as for rate limiting. */
export const RrlCategory = { NORMAL: 0, NXDOMAIN: 1, ERROR: 2, LARGE: 3 } as const;
export type RrlCategory = (typeof RrlCategory)[keyof typeof RrlCategory];

export const RrlVerdict = { SEND: 0, DROP: 1, SLIP: 2 } as const;
export type RrlVerdict = (typeof RrlVerdict)[keyof typeof RrlVerdict];

interface Bucket {
  tokens: number;
  last: number;
  limited: number;
}

export const MAX_BUCKETS = 65_536;
const MAX_PREFIX_CACHE = 16_384;

export interface RrlSettings {
  enabled: boolean;
  /** Per category, responses per second; 0 = unlimited. */
  rates: [number, number, number, number];
  largeResponseSize: number;
  slip: number;
  ipv4PrefixLength: number;
  ipv6PrefixLength: number;
  exempt: string[];
}

const D = RRL_DEFAULTS;

export function rrlSettings(config: DnsConfig['rrl']): RrlSettings {
  return {
    enabled: config?.enabled ?? D.enabled,
    rates: [config?.responsesPerSecond ?? D.responsesPerSecond, config?.nxdomainsPerSecond ?? D.nxdomainsPerSecond, config?.errorsPerSecond ?? D.errorsPerSecond, config?.largeResponsesPerSecond ?? D.largeResponsesPerSecond],
    largeResponseSize: config?.largeResponseSize ?? D.largeResponseSize,
    slip: config?.slip ?? D.slip,
    ipv4PrefixLength: config?.ipv4PrefixLength ?? D.ipv4PrefixLength,
    ipv6PrefixLength: config?.ipv6PrefixLength ?? D.ipv6PrefixLength,
    exempt: config?.exempt ?? [],
  };
}

/**
 * Response rate limiting for UDP in the spirit of BIND's RRL: a token bucket
 * per (client prefix, response category) refilled at the category's rate with
 * one second of burst. Over the limit, every `slip`-th response becomes an
 * empty TC=1 reply (a real client retries over TCP, a spoofed victim gets a
 * tiny packet) and the others are dropped. Memory is bounded: buckets and the
 * address->prefix cache are cleared when full.
 */
export class ResponseRateLimiter {
  readonly settings: RrlSettings;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, Bucket>();
  readonly #prefixes = new Map<string, string>();
  readonly #exempt4 = new CidrTrie<true>(4);
  readonly #exempt6 = new CidrTrie<true>(6);

  constructor(settings: RrlSettings, clock: Clock) {
    this.settings = settings;
    this.#clock = clock;
    for (const text of settings.exempt) {
      const c = parseCidr(text);
      (c.family === 4 ? this.#exempt4 : this.#exempt6).insert(c.bytes, c.prefix, true);
    }
  }

  /** Buckets currently tracked (bounded by MAX_BUCKETS). */
  get bucketCount(): number {
    return this.#buckets.size;
  }

  /** Cheap pre-check for the hot path: is this category limited at all? */
  limits(category: RrlCategory): boolean {
    return this.settings.enabled && this.settings.rates[category] > 0;
  }

  categorize(rcode: number, size: number): RrlCategory {
    if (rcode === 3) return RrlCategory.NXDOMAIN;
    if (rcode !== 0) return RrlCategory.ERROR;
    return size > this.settings.largeResponseSize ? RrlCategory.LARGE : RrlCategory.NORMAL;
  }

  check(address: string, category: RrlCategory): RrlVerdict {
    const rate = this.settings.rates[category];
    if (!this.settings.enabled || rate <= 0) return RrlVerdict.SEND;
    const prefix = this.#prefixOf(address);
    if (prefix === '') return RrlVerdict.SEND;
    const key = `${category}/${prefix}`;
    const now = this.#clock.now();
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= MAX_BUCKETS) this.#prune(now);
      b = { tokens: rate, last: now, limited: 0 };
      this.#buckets.set(key, b);
    } else {
      b.tokens = Math.min(rate, b.tokens + ((now - b.last) / 1000) * rate);
      b.last = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return RrlVerdict.SEND;
    }
    b.limited++;
    const slip = this.settings.slip;
    return slip > 0 && b.limited % slip === 0 ? RrlVerdict.SLIP : RrlVerdict.DROP;
  }

  /** Drops buckets that refilled completely (idle clients); if none did, starts over. */
  #prune(now: number): void {
    for (const [k, b] of this.#buckets) {
      const rate = this.settings.rates[Number(k[0]) as RrlCategory];
      if (b.tokens + ((now - b.last) / 1000) * rate >= rate) this.#buckets.delete(k);
    }
    if (this.#buckets.size >= MAX_BUCKETS) this.#buckets.clear();
  }

  /** The client's network as a key, or '' for exempt and unparseable addresses. */
  #prefixOf(address: string): string {
    const hit = this.#prefixes.get(address);
    if (hit !== undefined) return hit;
    const bytes = clientAddressBytes(address);
    let key = '';
    if (bytes) {
      const v4 = bytes.length === 4;
      const exempt = (v4 ? this.#exempt4 : this.#exempt6).lookup(bytes).value === true;
      if (!exempt) {
        const bits = v4 ? this.settings.ipv4PrefixLength : this.settings.ipv6PrefixLength;
        const masked = Buffer.from(bytes);
        for (let bit = bits; bit < masked.length * 8; bit++) masked[bit >> 3]! &= ~(0x80 >> (bit & 7));
        key = masked.toString('hex');
      }
    }
    if (this.#prefixes.size >= MAX_PREFIX_CACHE) this.#prefixes.clear();
    this.#prefixes.set(address, key);
    return key;
  }
}
