import { RRClass, RRType } from '../wire/constants.ts';
import type { WireName } from '../wire/name.ts';
import type { ZoneSigner } from '../dnssec/signer.ts';

const MULTI_CACHE_MAX = 4096;

/**
 * RRSIG records for the address RRsets a GTM name can answer with. The RRset
 * is whichever candidates the plan picked, so its signature is looked up by
 * the picked candidate indices: single picks (the default `answers: 1`) are
 * all signed when the cache is built, so a region change only switches which
 * precomputed signature is sent; multi-address picks are signed on first use
 * and kept. Candidate indices are stable across region-view changes (they
 * follow the config), so nothing is re-signed when health moves.
 */
export class GtmSignatures {
  readonly #signer: ZoneSigner;
  readonly #owner: WireName;
  /** The owner as written in the answer (a compression pointer), reused for the RRSIG records. */
  readonly #ownerBytes: Buffer;
  readonly #type: number;
  readonly #ttl: number;
  readonly #addresses: Buffer[];
  readonly #single: Buffer[];
  readonly #multi = new Map<string, Buffer>();
  /** RRSIG records per answer (one per signing key). */
  readonly count: number;
  /** Bytes of those records: fixed, as every signature of an algorithm has one size. */
  readonly size: number;

  constructor(signer: ZoneSigner, owner: WireName, ownerBytes: Buffer, type: number, ttl: number, addresses: Buffer[]) {
    this.#signer = signer;
    this.#owner = owner;
    this.#ownerBytes = ownerBytes;
    this.#type = type;
    this.#ttl = ttl;
    this.#addresses = addresses;
    this.count = signer.signatureCount(type);
    this.#single = addresses.map((a) => this.#records([a]));
    this.size = this.#single[0]?.length ?? 0;
  }

  #records(addresses: Buffer[]): Buffer {
    const sigs = this.#signer.signRdatas(this.#owner, this.#type, this.#ttl, addresses);
    const ob = this.#ownerBytes;
    return Buffer.concat(sigs.map((sig) => {
      const head = Buffer.alloc(ob.length + 10);
      ob.copy(head, 0);
      head.writeUInt16BE(RRType.RRSIG, ob.length);
      head.writeUInt16BE(RRClass.IN, ob.length + 2);
      head.writeUInt32BE(this.#ttl, ob.length + 4);
      head.writeUInt16BE(sig.length, ob.length + 8);
      return Buffer.concat([head, sig]);
    }));
  }

  /** The RRSIG records for candidates `picked[0..n)`. */
  get(picked: Int32Array, n: number): Buffer {
    if (n === 1) return this.#single[picked[0]!]!;
    const idx = Array.from(picked.subarray(0, n)).sort((a, b) => a - b);
    const key = idx.join(',');
    let rec = this.#multi.get(key);
    if (!rec) {
      rec = this.#records(idx.map((i) => this.#addresses[i]!));
      if (this.#multi.size >= MULTI_CACHE_MAX) this.#multi.clear();
      this.#multi.set(key, rec);
    }
    return rec;
  }
}
