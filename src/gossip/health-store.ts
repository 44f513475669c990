import type { RegionSelfHealth } from '../health/region-health.ts';
import { encodeMessage, KEYSET_FINGERPRINT, MAX_KEYSETS, type HealthRecord } from './codec.ts';

/**
 * The latest health record each member gossiped, ordered per member by
 * `version` (a per-node counter seeded from the wall clock, so a restarted
 * gateway's first record still wins over its previous life's).
 */
export class HealthStore {
  readonly #records = new Map<string, HealthRecord>();
  readonly #max: number;

  /** @param max records kept at most (a bound against floods of made-up node names) */
  constructor(max = 65_536) {
    this.#max = max;
  }

  get(node: string): HealthRecord | undefined {
    return this.#records.get(node);
  }

  /** Stores the record when it is newer than what we have; true when it was. */
  apply(record: HealthRecord): boolean {
    const cur = this.#records.get(record.node);
    if (cur && cur.version >= record.version) return false;
    if (!cur && this.#records.size >= this.#max) return false;
    this.#records.set(record.node, record);
    return true;
  }

  delete(node: string): void {
    this.#records.delete(node);
  }

  values(): IterableIterator<HealthRecord> {
    return this.#records.values();
  }

  get size(): number {
    return this.#records.size;
  }
}

/** Clamps to 0..1; NaN and non-numbers become 0. */
function clampFraction(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
}

/**
 * Normalizes a health record and trims its per-name map, in name order, until
 * the encoded message fits `maxBytes` (so no datagram exceeds UDPBufferSize).
 * Returns the record and how many names were dropped.
 */
export function fitHealthRecord(node: string, region: string, version: number, h: RegionSelfHealth, maxBytes: number): { record: HealthRecord; dropped: number } {
  const state = h.state === 'up' || h.state === 'degraded' || h.state === 'down' ? h.state : 'down';
  const entries = Object.entries(h.names ?? {})
    .filter(([name]) => Buffer.byteLength(name) > 0 && Buffer.byteLength(name) <= 255)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, 255);
  const total = Object.keys(h.names ?? {}).length;
  const at = typeof h.at === 'number' && Number.isFinite(h.at) ? h.at : 0;
  // Key sets are never trimmed (the fleet's DNSSEC check needs them whole); MAX_KEYSETS bounds them.
  const ks = Object.entries(h.keysets ?? {}).filter(([zone, fp]) => zone.length > 0 && Buffer.byteLength(zone) <= 255 && KEYSET_FINGERPRINT.test(fp)).slice(0, MAX_KEYSETS);
  const keysets = ks.length > 0 ? Object.fromEntries(ks) : undefined;
  const make = (count: number): HealthRecord => ({
    node,
    region,
    version,
    health: { state, healthy: clampFraction(h.healthy), names: Object.fromEntries(entries.slice(0, count).map(([k, v]) => [k, clampFraction(v)])), at, ...(keysets ? { keysets } : {}) },
  });
  let count = entries.length;
  let record = make(count);
  while (count > 0 && encodeMessage({ type: 'health', record }).length > maxBytes) {
    count--;
    record = make(count);
  }
  return { record, dropped: total - count };
}
