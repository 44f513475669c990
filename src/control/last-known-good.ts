import { parseFleetRecord, type FleetRecord } from './fleet-record.ts';

/** The state document with the last config this node applied from the etcd store. */
export const LAST_KNOWN_GOOD_DOCUMENT = 'fleet-last-known-good';

/**
 * What a node needs to serve on its own when etcd is unreachable at start,
 * and to re-seed a wiped etcd: the last applied record (fleet part, secrets
 * redacted, exactly as it was stored), the prefix it came from and the store
 * revision and cluster it had there. Written atomically after every apply.
 */
export interface LastKnownGood {
  format: 1;
  prefix: string;
  revision: number;
  clusterId: string | null;
  record: FleetRecord;
}

export function parseLastKnownGood(value: unknown): LastKnownGood {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
  const v = value as Record<string, unknown>;
  if (v.format !== 1) throw new Error('not an edgeplane last-known-good config (format 1)');
  if (typeof v.prefix !== 'string') throw new Error('prefix must be a string');
  if (!Number.isSafeInteger(v.revision)) throw new Error('revision must be an integer');
  const record = parseFleetRecord(JSON.stringify(v.record));
  return { format: 1, prefix: v.prefix, revision: v.revision as number, clusterId: typeof v.clusterId === 'string' ? v.clusterId : null, record };
}
