import { resolve } from 'node:path';
import type { Config } from '../config/schema/index.ts';
import type { Logger } from '../util/logger.ts';
import type { Clock } from '../util/clock.ts';
import { StateDir } from './persistence.ts';
import { FileConfigStore } from './file-store.ts';
import { EtcdConfigStore } from './etcd-store.ts';
import type { ConfigApplier, ConfigStore } from './store.ts';
import { historyLimitOf, stateDirOf } from './options.ts';

export interface OpenStoreOptions {
  config: Config;
  baseDir: string;
  apply: ConfigApplier;
  logger: Logger;
  clock: Clock;
}

/**
 * The store the config's `store` section names (the file store when it is
 * absent) and this node's state directory (the file store's history, the
 * etcd store's last-known-good, releases and the audit log).
 */
export async function openConfigStore(o: OpenStoreOptions): Promise<{ store: ConfigStore; stateDir: StateDir }> {
  const stateDir = await StateDir.open(resolve(o.baseDir, stateDirOf(o.config).dir));
  const historyLimit = historyLimitOf(o.config);
  const etcd = o.config.store?.etcd;
  const store = etcd
    ? await EtcdConfigStore.open({ etcd, baseDir: o.baseDir, stateDir, historyLimit, apply: o.apply, logger: o.logger, clock: o.clock })
    : await FileConfigStore.open({ stateDir, historyLimit, apply: o.apply, logger: o.logger, clock: o.clock });
  return { store, stateDir };
}
