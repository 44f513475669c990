/** The config plane: the versioned config store (file or etcd), its history, persistence and errors. */
export type { ConfigStore, ConfigApplier, ChangeMeta, ChangeGuard, WriteOptions, ChangeResult, StoreStatus } from './store.ts';
export { FileConfigStore, CONFIG_DOCUMENT } from './file-store.ts';
export { StateDir, type DurableDocument } from './persistence.ts';
export * from './errors.ts';
