import type { Config } from '../config/schema/index.ts';
import type { ChangeMeta } from '../control/store.ts';
import { ReleaseConflictError } from './errors.ts';
import type { ReleaseRecord } from './model.ts';
import { sameSplit } from './strategy.ts';

/**
 * The config store guard that keeps a released route's split to its release:
 * any change that would alter or remove the split of a route with a running
 * release (PUT /v1/routes/:name/split, PUT /v1/config, POST /v1/rollback, a
 * SIGHUP reload) is refused with 409 naming the release. Changes to anything
 * else go through. The release's own writes carry its id in `meta.release`.
 */
export function routeLock(running: () => Iterable<ReleaseRecord>) {
  return (candidate: Config, current: Config, meta: ChangeMeta): void => {
    for (const rec of running()) {
      if (meta.release === rec.id) continue;
      const route = rec.spec.route;
      const before = current.routes.find((r) => r.name === route);
      if (!before) continue;
      const index = candidate.routes.findIndex((r) => r.name === route);
      const how = `abort it (POST /v1/releases/${rec.id}/abort) or wait for it to finish`;
      if (index < 0) {
        throw new ReleaseConflictError(rec.id, 'routes', `route "${route}" is being released by ${rec.id} (${rec.phase}) and cannot be removed: ${how}`);
      }
      if (!sameSplit(before.split, candidate.routes[index]!.split)) {
        throw new ReleaseConflictError(rec.id, `routes[${index}].split`, `the split of route "${route}" is controlled by release ${rec.id} (${rec.phase}, target ${rec.spec.target}) until it finishes: ${how}`);
      }
    }
  };
}
