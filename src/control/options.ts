import type { Config } from '../config/schema/index.ts';
import { ConfigSchema } from '../config/schema/index.ts';
import { Admin } from '../config/schema/admin.ts';
import { defaultsOf } from '../config/schema/defaults.ts';

/**
 * The store-related settings of a config with their defaults applied
 * (declared on the schema fields: admin.stateDir, admin.history, version).
 * The gateway, preflight and the CLI's offline commands all find the state
 * directory and the history length here, so they cannot look in different places.
 */

const ADMIN = defaultsOf(Admin, ['stateDir', 'history']);
const TOP = defaultsOf(ConfigSchema, ['version']);

/** The state directory as written in the config (relative to its file), and the YAML path that set it. */
export function stateDirOf(config: Pick<Config, 'store' | 'admin'>): { dir: string; path: string[] } {
  if (config.store?.file?.dir !== undefined) return { dir: config.store.file.dir, path: ['store', 'file', 'dir'] };
  if (config.admin?.stateDir !== undefined) return { dir: config.admin.stateDir, path: ['admin', 'stateDir'] };
  return { dir: ADMIN.stateDir, path: ['admin'] };
}

/** How many config versions are kept for rollback. */
export function historyLimitOf(config: Pick<Config, 'admin'>): number {
  return config.admin?.history ?? ADMIN.history;
}

/** The file's own version; a file without one is version 0 (any persisted change is newer). */
export function fileVersionOf(config: Pick<Config, 'version'>): number {
  return config.version ?? TOP.version;
}
