import type { DurableDocument, StateDir } from '../control/persistence.ts';
import { StateCorruptError } from '../control/errors.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { PHASES, isActive, type ReleaseRecord } from './model.ts';

/** The state document beside the config history (`<stateDir>/releases.json`). */
export const RELEASES_DOCUMENT = 'releases';

/** Finished releases kept for GET /v1/releases after the running ones. */
export const KEEP_FINISHED = 50;

export interface PersistedReleases {
  format: 1;
  /** The number the next release id gets (`rel-<n>`); never reused. */
  nextId: number;
  releases: ReleaseRecord[];
}

/**
 * Release state, persisted in the admin state directory with the same
 * write-temp + fsync + rename + fsync-dir rule as the config history. The
 * controller writes a transition's intent *before* the config change it
 * implies (see controller.ts), so after a kill -9 the document never claims
 * less than the config shows, and the release can be resumed from it.
 */
export class ReleaseState {
  readonly #doc: DurableDocument<PersistedReleases>;

  private constructor(doc: DurableDocument<PersistedReleases>) {
    this.#doc = doc;
  }

  get file(): string {
    return this.#doc.file;
  }

  /** Reads the document; an unusable one is moved aside (logged loudly: running releases are forgotten) and an empty one starts. */
  static async open(stateDir: StateDir, clock: Clock, logger: Logger): Promise<{ state: ReleaseState; value: PersistedReleases }> {
    const doc = stateDir.document(RELEASES_DOCUMENT, parseReleases);
    let value: PersistedReleases | undefined;
    try {
      value = await doc.read();
    } catch (err) {
      if (!(err instanceof StateCorruptError)) throw err;
      const aside = await doc.quarantine(clock.wallNow());
      logger.error({ err: err.message, movedTo: aside }, 'persisted release state is unusable; moved aside: check the splits of routes that were being released');
    }
    return { state: new ReleaseState(doc), value: value ?? { format: 1, nextId: 1, releases: [] } };
  }

  /** Writes every running release and the newest finished ones. */
  write(nextId: number, records: Iterable<ReleaseRecord>): Promise<void> {
    const all = [...records];
    const running = all.filter((r) => isActive(r.phase));
    const finished = all.filter((r) => !isActive(r.phase)).slice(-KEEP_FINISHED);
    const keep = new Set([...running, ...finished]);
    return this.#doc.write({ format: 1, nextId, releases: all.filter((r) => keep.has(r)) });
  }
}

/** Checks the shape of what is read; a hand-edited or foreign file throws with the reason. */
export function parseReleases(value: unknown): PersistedReleases {
  if (!isObject(value) || value.format !== 1) throw new Error('not an edgeplane release state (format 1)');
  if (!Number.isSafeInteger(value.nextId) || (value.nextId as number) < 1) throw new Error('nextId must be a positive integer');
  if (!Array.isArray(value.releases)) throw new Error('releases must be an array');
  const ids = new Set<string>();
  const activeRoutes = new Set<string>();
  value.releases.forEach((r: unknown, i: number) => {
    const where = `releases[${i}]`;
    if (!isObject(r) || typeof r.id !== 'string' || !r.id) throw new Error(`${where} needs an id`);
    if (ids.has(r.id)) throw new Error(`${where}: duplicate id ${r.id}`);
    ids.add(r.id);
    if (!PHASES.includes(r.phase as ReleaseRecord['phase'])) throw new Error(`${where}.phase must be one of ${PHASES.join(', ')}`);
    const spec = r.spec;
    if (!isObject(spec) || typeof spec.route !== 'string' || typeof spec.target !== 'string' || !isObject(spec.gates)) throw new Error(`${where}.spec is incomplete`);
    if (!Array.isArray(r.originalSplit) || !r.originalSplit.every((e) => isObject(e) && typeof e.cluster === 'string' && Number.isFinite(e.weight))) {
      throw new Error(`${where}.originalSplit must be a list of {cluster, weight}`);
    }
    if (!Array.isArray(r.plan) || r.plan.length === 0 || !r.plan.every((p) => typeof p === 'number')) throw new Error(`${where}.plan must be a list of percentages`);
    if (!Number.isInteger(r.step) || (r.step as number) < -1 || (r.step as number) >= r.plan.length) throw new Error(`${where}.step is out of range`);
    if (!Array.isArray(r.history) || !Array.isArray(r.versions)) throw new Error(`${where} needs history and versions lists`);
    if (isActive(r.phase as ReleaseRecord['phase'])) {
      if (activeRoutes.has(spec.route)) throw new Error(`${where}: a second running release of route ${spec.route}`);
      activeRoutes.add(spec.route);
    }
  });
  return value as unknown as PersistedReleases;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
