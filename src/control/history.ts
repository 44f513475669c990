import type { Config } from '../config/schema/index.ts';

/** Where a version came from. */
export type ChangeSource = 'file' | 'api' | 'rollback';
const SOURCES: readonly ChangeSource[] = ['file', 'api', 'rollback'];

export interface VersionSummary {
  version: number;
  /** ISO time the version was applied. */
  at: string;
  source: ChangeSource;
  /** Who made it: the X-Edgeplane-Author header (or `admin-api`), `file` for the config file. */
  author: string;
  /** What happened, e.g. `PUT /v1/routes/api/split`, `SIGHUP /etc/edgeplane/edgeplane.yaml`. */
  change: string;
  /** The config file's own `version:` when this version was loaded from the file. */
  fileVersion?: number;
  /** The version whose config a rollback restored. */
  rolledBackTo?: number;
}

export interface VersionRecord extends VersionSummary {
  /** The config as applied, secrets replaced by placeholders (see secrets.ts). */
  config: Config;
}

/** The persisted form (state document `config`). */
export interface PersistedHistory {
  format: 1;
  current: number;
  versions: VersionRecord[];
}

/**
 * The last N versions, oldest first. Immutable: `appended` returns a new
 * history, so the store can persist the next one and only then swap it in.
 */
export class VersionHistory {
  readonly limit: number;
  readonly #records: readonly VersionRecord[];

  constructor(limit: number, records: readonly VersionRecord[] = []) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`history limit must be a positive integer, got ${limit}`);
    this.limit = limit;
    this.#records = records.slice(-limit);
  }

  get head(): VersionRecord | undefined {
    return this.#records[this.#records.length - 1];
  }

  get size(): number {
    return this.#records.length;
  }

  get(version: number): VersionRecord | undefined {
    return this.#records.find((r) => r.version === version);
  }

  versions(): number[] {
    return this.#records.map((r) => r.version);
  }

  /** Newest first, without the configs. */
  summaries(): VersionSummary[] {
    return this.#records.map(summary).reverse();
  }

  appended(record: VersionRecord): VersionHistory {
    const head = this.head;
    if (head && record.version <= head.version) throw new RangeError(`version ${record.version} is not newer than ${head.version}`);
    return new VersionHistory(this.limit, [...this.#records, record]);
  }

  toJSON(): PersistedHistory {
    return { format: 1, current: this.head?.version ?? 0, versions: [...this.#records] };
  }

  /** Reads the persisted form; throws with a reason when it is not one (the caller quarantines the file). */
  static parse(value: unknown, limit: number): VersionHistory {
    if (!isObject(value) || value.format !== 1) throw new Error('not an edgeplane config history (format 1)');
    if (!Array.isArray(value.versions)) throw new Error('versions must be an array');
    const records: VersionRecord[] = [];
    let last = 0;
    value.versions.forEach((r: unknown, i: number) => {
      const where = `versions[${i}]`;
      if (!isObject(r)) throw new Error(`${where} must be an object`);
      if (!Number.isSafeInteger(r.version) || (r.version as number) <= last) throw new Error(`${where}.version must be an integer above ${last}`);
      if (typeof r.at !== 'string' || typeof r.author !== 'string' || typeof r.change !== 'string') throw new Error(`${where} needs at, author and change strings`);
      if (!SOURCES.includes(r.source as ChangeSource)) throw new Error(`${where}.source must be one of ${SOURCES.join(', ')}`);
      if (!isObject(r.config)) throw new Error(`${where}.config must be an object`);
      last = r.version as number;
      records.push(r as unknown as VersionRecord);
    });
    if (value.current !== last) throw new Error(`current (${String(value.current)}) is not the last version (${last})`);
    return new VersionHistory(limit, records);
  }
}

function summary(r: VersionRecord): VersionSummary {
  const { config: _config, ...rest } = r;
  return rest;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
