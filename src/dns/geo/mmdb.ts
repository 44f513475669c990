import { readFileSync } from 'node:fs';
import { Reader, type CountryResponse } from 'maxmind';
import { DnsError } from '../errors.ts';

export interface MmdbMatch {
  region: string | undefined;
  /** Depth of the MMDB tree walk: the network the record applies to. */
  prefix: number;
}

/**
 * Country (then continent) to region through a MaxMind DB. Loaded once per
 * config; lookups go through the maxmind reader with its own LRU.
 */
export class MmdbRegionMap {
  readonly #reader: Reader<CountryResponse>;
  readonly #countries: Map<string, string>;
  readonly #continents: Map<string, string>;

  constructor(file: string, countries: Record<string, string> = {}, continents: Record<string, string> = {}) {
    let buf: Buffer;
    try {
      buf = readFileSync(file);
    } catch (err) {
      throw new DnsError('EP_DNS_GEO', `cannot read MaxMind DB ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      this.#reader = new Reader<CountryResponse>(buf);
    } catch (err) {
      throw new DnsError('EP_DNS_GEO', `${file} is not a MaxMind DB: ${(err as Error).message}`);
    }
    this.#countries = new Map(Object.entries(countries));
    this.#continents = new Map(Object.entries(continents));
  }

  lookup(ip: string): MmdbMatch {
    let rec: CountryResponse | null;
    let prefix: number;
    try {
      [rec, prefix] = this.#reader.getWithPrefixLength(ip);
    } catch {
      return { region: undefined, prefix: 0 };
    }
    const country = rec?.country?.iso_code ?? rec?.registered_country?.iso_code;
    const region = (country && this.#countries.get(country)) || (rec?.continent?.code && this.#continents.get(rec.continent.code)) || undefined;
    return { region, prefix };
  }
}
