import type { Endpoint } from '../health/types.ts';
import type { Rng } from '../util/rng.ts';
import { fnv1a, mix32 } from './hash.ts';

/** Picks one endpoint of a cluster for a request. `exclude` lets retries go elsewhere. */
export interface Balancer {
  pick(endpoints: readonly Endpoint[], hashKey: string | undefined, exclude: Endpoint | undefined): Endpoint | undefined;
}

export function createBalancer(kind: 'round-robin' | 'least-request' | 'consistent-hash', rng: Rng): Balancer {
  switch (kind) {
    case 'least-request':
      return new LeastRequestBalancer(rng);
    case 'consistent-hash':
      return new RingHashBalancer();
    default:
      return new RoundRobinBalancer();
  }
}

class RoundRobinBalancer implements Balancer {
  #next = 0;
  pick(endpoints: readonly Endpoint[], _key: string | undefined, exclude: Endpoint | undefined): Endpoint | undefined {
    const n = endpoints.length;
    if (n === 0) return undefined;
    let ep = endpoints[this.#next++ % n]!;
    if (this.#next > 0x3fffffff) this.#next = 0;
    if (ep === exclude && n > 1) ep = endpoints[this.#next++ % n]!;
    return ep;
  }
}

/** Envoy's default least-request: the less busy of two random choices (P2C). */
class LeastRequestBalancer implements Balancer {
  constructor(private readonly rng: Rng) {}
  pick(endpoints: readonly Endpoint[], _key: string | undefined, exclude: Endpoint | undefined): Endpoint | undefined {
    const n = endpoints.length;
    if (n === 0) return undefined;
    if (n === 1) return endpoints[0];
    const a = endpoints[Math.floor(this.rng.next() * n)]!;
    let b = endpoints[Math.floor(this.rng.next() * n)]!;
    if (b === a) b = endpoints[(endpoints.indexOf(a) + 1) % n]!;
    if (a === exclude) return b;
    if (b === exclude) return a;
    return b.active < a.active ? b : a;
  }
}

const VNODES = 100;

/** Ketama-style ring, rebuilt only when the endpoint list changes (the list is replaced, never mutated). */
class RingHashBalancer implements Balancer {
  #ringFor: readonly Endpoint[] | undefined;
  #hashes = new Uint32Array(0);
  #owners: Endpoint[] = [];
  #fallback = new RoundRobinBalancer();

  pick(endpoints: readonly Endpoint[], key: string | undefined, exclude: Endpoint | undefined): Endpoint | undefined {
    if (endpoints.length === 0) return undefined;
    if (key === undefined) return this.#fallback.pick(endpoints, key, exclude);
    if (this.#ringFor !== endpoints) this.#build(endpoints);
    const h = mix32(fnv1a(key));
    const hashes = this.#hashes;
    let lo = 0;
    let hi = hashes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hashes[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    for (let i = 0; i < this.#owners.length; i++) {
      const ep = this.#owners[(lo + i) % this.#owners.length]!;
      if (ep !== exclude || endpoints.length === 1) return ep;
    }
    return undefined;
  }

  #build(endpoints: readonly Endpoint[]): void {
    const points: { h: number; ep: Endpoint }[] = [];
    for (const ep of endpoints) for (let v = 0; v < VNODES; v++) points.push({ h: mix32(fnv1a(`${ep.address}#${v}`)), ep });
    points.sort((a, b) => a.h - b.h);
    this.#hashes = Uint32Array.from(points, (p) => p.h);
    this.#owners = points.map((p) => p.ep);
    this.#ringFor = endpoints;
  }
}
