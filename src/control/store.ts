import type { Config } from '../config/schema/index.ts';
import type { ChangeSource, VersionHistory, VersionSummary } from './history.ts';
import type { Issue } from './errors.ts';

/** Swaps the running components to `config`; throws without changing anything when it can't. */
export type ConfigApplier = (config: Config, version: number, source: string) => Promise<unknown>;

export interface ChangeMeta {
  source: ChangeSource;
  author: string;
  change: string;
  /** Set by the release controller on its own steps, so the route lock of that release lets them through. */
  release?: string;
  /** With the etcd store: the leader key revision the release driver holds; the write is refused once it no longer does. */
  fence?: { key: string; revision: number };
}

/**
 * Checks a change after validation and before it is applied; throws (a
 * ControlError, e.g. ReleaseLockedError) to refuse it, and nothing changes.
 * Releases lock their route's split with one (src/release/route-lock.ts).
 */
export type ChangeGuard = (candidate: Config, current: Config, meta: ChangeMeta) => void;

export interface WriteOptions {
  /** The If-Match header: the write only goes ahead while this is the current version. */
  ifVersion?: string;
  /** Maps config paths in validation issues to the request's own paths (e.g. `routes[0].split` → `split`). */
  mapPath?: (path: string) => string;
}

export interface ChangeResult {
  version: number;
  previousVersion: number;
  /** False when the change was identical to the config in force: no new version. */
  changed: boolean;
  record: VersionSummary | undefined;
}

/** What GET /v1/status says about the store. */
export interface StoreStatus {
  kind: 'file' | 'etcd';
  /** False while the shared store can't be reached (writes answer 503; the node serves its last good config). */
  up: boolean;
  /** The version this node serves. */
  version: number;
  /** The newest version seen in the store (etcd); equal to `version` unless a document was refused or is being applied. */
  storeVersion: number;
  /** Where the state lives: the state file, or the etcd endpoints and prefix. */
  location: string;
  /** The last store error, while it lasts. */
  lastError: string | null;
  /** A document from the store that this node refused, with its errors (config paths); null when none. */
  refused: { version: number; at: string; errors: Issue[] } | null;
  /** etcd only: the store revision of the applied document, and when the store was last reached. */
  revision?: number;
  lastContactAt?: string | null;
}

/**
 * The versioned config store: every change (the file at start, SIGHUP or a
 * file watch, admin API writes, rollbacks, release steps) goes through one of
 * these. Two kinds: the state directory of one node (file-store.ts) and a
 * shared etcd store for a fleet (etcd-store.ts).
 */
export interface ConfigStore {
  readonly kind: 'file' | 'etcd';
  /** The version and full config in force (secrets included: never send this out as is). */
  readonly current: { version: number; config: Config };
  /** The kept versions (secrets redacted). */
  readonly history: VersionHistory;
  /** At process start: decides what to serve (file, persisted state or shared store) and applies it. */
  start(fileConfig: Config, filePath: string | undefined): Promise<ChangeResult>;
  /** SIGHUP or a file watch: the file (validated by the loader) changed. */
  reloadFile(fileConfig: Config, change: string): Promise<ChangeResult>;
  /** Admin API: replaces the whole config with `value` (an unvalidated request body). */
  replace(value: unknown, meta: ChangeMeta, options?: WriteOptions): Promise<ChangeResult>;
  /** Admin API: edits a copy of the config in force; `edit` throws to refuse. */
  update(edit: (draft: Config) => void, meta: ChangeMeta, options?: WriteOptions): Promise<ChangeResult>;
  /** Makes the config of an earlier version current again, as a new version. */
  rollback(version: number, meta: Omit<ChangeMeta, 'source'>, options?: WriteOptions): Promise<ChangeResult>;
  /** Every later change must pass `guard`; returns the function that removes it. */
  addGuard(guard: ChangeGuard): () => void;
  /** Calls `listener` after every version this node applies (its own writes and, with etcd, other nodes'). */
  onApplied(listener: (version: number, config: Config) => void): () => void;
  status(): StoreStatus;
  /** With a shared store: every live node and the version it serves (from the nodes' own leased status keys). */
  nodes?(): Promise<{ id: string; region: string; version: number; refused: { version: number; errors: number } | null; dnssec?: Record<string, string>; at: string }[]>;
  /** With a shared store: publishes this node's DNSKEY-set fingerprints (zone -> fingerprint) beside its status. */
  setDnssecKeysets?(keysets: Record<string, string>): void;
  close(): Promise<void>;
}
