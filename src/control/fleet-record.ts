import type { Config } from '../config/schema/index.ts';
import type { VersionRecord } from './history.ts';

/**
 * One version of the fleet's config as it sits in etcd: under
 * `<prefix>/config` (the head) and `<prefix>/history/<version>` (kept for
 * rollback). `config` is the fleet part only (no node-local sections) with
 * secrets as placeholders; `writeId` is unique per write, so a writer whose
 * request was cut off can tell by reading it back whether it was stored.
 */
export interface FleetRecord extends VersionRecord {
  format: 1;
  writeId: string;
}

export const configKey = (prefix: string) => `${prefix}/config`;
export const historyPrefix = (prefix: string) => `${prefix}/history/`;
/** Zero-padded so the keys sort in version order. */
export const historyKey = (prefix: string, version: number) => `${historyPrefix(prefix)}${String(version).padStart(12, '0')}`;

const SOURCES = ['file', 'api', 'rollback'];

/** Parses a stored record; throws with the reason when it is not one (another tool, a newer edgeplane). */
export function parseFleetRecord(text: string): FleetRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON (${(err as Error).message})`);
  }
  if (!isObject(v)) throw new Error('not a JSON object');
  if (v.format !== 1) throw new Error(`format ${JSON.stringify(v.format)} is not one this edgeplane reads (1)`);
  if (!Number.isSafeInteger(v.version) || (v.version as number) < 1) throw new Error('version must be a positive integer');
  if (typeof v.writeId !== 'string' || typeof v.at !== 'string' || typeof v.author !== 'string' || typeof v.change !== 'string') throw new Error('writeId, at, author and change must be strings');
  if (!SOURCES.includes(v.source as string)) throw new Error(`source must be one of ${SOURCES.join(', ')}`);
  if (!isObject(v.config)) throw new Error('config must be an object');
  return v as unknown as FleetRecord;
}

export function fleetRecord(r: Omit<FleetRecord, 'format' | 'config'> & { config: Record<string, unknown> }): FleetRecord {
  return { format: 1, ...r, config: r.config as unknown as Config };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
