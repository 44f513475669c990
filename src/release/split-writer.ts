import type { ConfigStore } from '../control/store.ts';
import { ControlError, FencedError } from '../control/errors.ts';
import type { Fence } from '../control/leader-election.ts';
import { ReleaseSplitDriftError } from './errors.ts';
import type { ReleaseRecord, SplitWeight } from './model.ts';
import { sameSplit, splitAt } from './strategy.ts';

/** How a release's write of its route's split ended; the controller decides what each means for the release. */
export type WriteOutcome =
  /** Applied and persisted; `version` is null when the split was already that (no new version). */
  | { kind: 'written'; version: number | null }
  /** The route is gone, or its split is not one this release wrote or started from: left alone. */
  | { kind: 'drift'; routeGone: boolean; message: string }
  /** The store refused the change for good (validation, apply failure, another guard). */
  | { kind: 'refused'; message: string }
  /** Could not be persisted (disk): nothing changed, worth retrying. */
  | { kind: 'transient'; message: string }
  /** In a fleet: this node no longer drives releases (etcd refused the fenced write, or its lease may have expired). Nothing changed. */
  | { kind: 'fenced'; message: string };

/**
 * Writes `weights` to the release's route through the config store, as a
 * config version authored `release/<id>`. The check that the split in force
 * is the release's own runs inside the store's edit, i.e. serialised with
 * every other change, so nothing can slip in between the check and the write.
 */
export async function writeSplit(store: ConfigStore, rec: ReleaseRecord, weights: readonly SplitWeight[], what: string, fence?: Fence | null): Promise<WriteOutcome> {
  const route = rec.spec.route;
  if (fence === null) return { kind: 'fenced', message: 'this node no longer leads the fleet\'s releases' };
  try {
    const result = await store.update(
      (draft) => {
        const r = draft.routes.find((x) => x.name === route);
        if (!r) throw new ReleaseSplitDriftError(`route "${route}" no longer exists`);
        if (!ownSplits(rec).some((s) => sameSplit(s, r.split))) {
          throw new ReleaseSplitDriftError(`the split of route "${route}" (${formatSplit(r.split)}) was changed outside the release`);
        }
        r.split = weights.map((e) => ({ ...e }));
      },
      { source: 'api', author: `release/${rec.id}`, change: `release ${rec.id}: ${what}`, release: rec.id, ...(fence ? { fence } : {}) },
    );
    return { kind: 'written', version: result.changed ? result.version : null };
  } catch (err) {
    const message = (err as Error).message;
    if (err instanceof FencedError) return { kind: 'fenced', message };
    if (err instanceof ReleaseSplitDriftError) return { kind: 'drift', routeGone: message.includes('no longer exists'), message };
    if (err instanceof ControlError && err.kind !== 'unavailable' && err.kind !== 'persist_failed') return { kind: 'refused', message };
    return { kind: 'transient', message };
  }
}

/** The splits a release may overwrite: the one it started from and each of its steps. */
export function ownSplits(rec: ReleaseRecord): SplitWeight[][] {
  return [rec.originalSplit, ...rec.plan.map((p) => splitAt(rec.originalSplit, rec.spec.target, p)), splitAt(rec.originalSplit, rec.spec.target, 100)];
}

export function formatSplit(split: readonly SplitWeight[]): string {
  return split.map((e) => `${e.cluster} ${e.weight}`).join(' / ');
}
