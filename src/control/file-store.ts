import type { Config, AdminConfig } from '../config/schema/index.ts';
import type { Logger } from '../util/logger.ts';
import type { Clock } from '../util/clock.ts';
import type { DurableDocument, StateDir } from './persistence.ts';
import { VersionHistory, type ChangeSource, type VersionRecord, type VersionSummary, type PersistedHistory } from './history.ts';
import { redactSecrets, restoreSecrets } from './secrets.ts';
import { sameConfig, withVersion } from './config-equal.ts';
import { candidateFromApi, checkIfVersion, restoreStored, validateCandidate } from './candidates.ts';
import { chooseStartupConfig, nextVersion } from './startup-rule.ts';
import { InvalidChangeError, PersistError, StateCorruptError, VersionNotFoundError } from './errors.ts';
import { controlMetrics } from './metrics.ts';
import type { ConfigStore, ConfigApplier, ChangeMeta, ChangeGuard, WriteOptions, ChangeResult, StoreStatus } from './store.ts';
import { fileVersionOf } from './options.ts';

export interface FileConfigStoreOptions {
  stateDir: StateDir;
  /** How many versions the history keeps (admin.history). */
  historyLimit: number;
  apply: ConfigApplier;
  logger: Logger;
  clock: Clock;
}

/** The name of the state document holding the config history. */
export const CONFIG_DOCUMENT = 'config';

/**
 * The versioned config store. Every change (the file at start, SIGHUP, admin
 * API writes, rollbacks) goes through it, one at a time:
 *
 *   validate (schema + cross-check) → apply to the running gateway → persist
 *   the new history durably → only then record it in memory and answer.
 *
 * A change that fails validation or can't be applied changes nothing; one that
 * can't be persisted is taken back out of the running gateway before the
 * error is reported, so memory and disk always agree on the current version.
 */
export class FileConfigStore implements ConfigStore {
  readonly kind = 'file';
  readonly #doc: DurableDocument<VersionHistory>;
  readonly #apply: ConfigApplier;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #limit: number;
  #history: VersionHistory;
  #current: { version: number; config: Config } | undefined;
  /** The config file as last loaded: the source of secrets and of the admin section. */
  #file: Config | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #guards = new Set<ChangeGuard>();
  readonly #applied = new Set<(version: number, config: Config) => void>();

  private constructor(options: FileConfigStoreOptions, doc: DurableDocument<VersionHistory>, history: VersionHistory) {
    this.#doc = doc;
    this.#apply = options.apply;
    this.#logger = options.logger.child({ component: 'config-store' });
    this.#clock = options.clock;
    this.#limit = options.historyLimit;
    this.#history = history;
  }

  /** Reads the persisted history. A file that can't be used is moved aside (logged) and the store starts empty. */
  static async open(options: FileConfigStoreOptions): Promise<FileConfigStore> {
    const limit = options.historyLimit;
    const doc = options.stateDir.document(CONFIG_DOCUMENT, (v) => VersionHistory.parse(v, limit));
    let history: VersionHistory;
    try {
      history = (await doc.read()) ?? new VersionHistory(limit);
    } catch (err) {
      if (!(err instanceof StateCorruptError)) throw err;
      const aside = await doc.quarantine(options.clock.wallNow());
      options.logger.error({ err: err.message, movedTo: aside }, 'persisted config history is unusable; moved aside, starting from the config file');
      history = new VersionHistory(limit);
    }
    return new FileConfigStore(options, doc, history);
  }

  /** The version and full config in force (secrets included: never send this out as is). */
  get current(): { version: number; config: Config } {
    if (!this.#current) throw new Error('config store not started');
    return this.#current;
  }

  get history(): VersionHistory {
    return this.#history;
  }

  /** The state file's path (for messages and tests). */
  get file(): string {
    return this.#doc.file;
  }

  /**
   * At process start: decides between the config file and the persisted state
   * (see startup-rule.ts), applies the winner and records it when it is new.
   */
  start(fileConfig: Config, filePath: string | undefined): Promise<ChangeResult> {
    return this.#serialise('file', async () => {
      this.#file = fileConfig;
      const head = this.#history.head;
      const fileVersion = fileVersionOf(fileConfig);
      const decision = chooseStartupConfig(fileVersion, head);
      if (decision.use === 'persisted' && head) {
        const restored = restoreStored(head.config as unknown as Record<string, unknown>, (c) => setAdmin(c, fileConfig.admin), [fileConfig]);
        if (restored.ok) {
          try {
            await this.#apply(restored.config, head.version, `state:${head.source}`);
            this.#setCurrent(head.version, restored.config);
            this.#logger.info({ version: head.version, reason: decision.reason }, 'started from the persisted config');
            return { version: head.version, previousVersion: head.version, changed: false, record: head };
          } catch (err) {
            this.#logger.error({ version: head.version, err: (err as Error).message }, 'persisted config cannot be applied; starting from the config file');
          }
        } else {
          this.#logger.error({ version: head.version, issues: restored.issues }, 'persisted config is no longer valid; starting from the config file');
        }
      } else {
        this.#logger.info({ fileVersion, reason: decision.reason }, 'starting from the config file');
      }
      return this.#commit(fileConfig, { source: 'file', author: 'file', change: `start ${filePath ?? 'config'}` }, { fileVersion, applyUnchanged: true });
    });
  }

  /** SIGHUP (or a file watch): the file was validated by the loader; it replaces the config in force. */
  reloadFile(fileConfig: Config, change: string): Promise<ChangeResult> {
    return this.#serialise('file', async () => {
      const result = await this.#commit(validateCandidate(fileConfig), { source: 'file', author: 'file', change }, { fileVersion: fileVersionOf(fileConfig), applyUnchanged: true });
      // Only a file that made it in becomes the source of secrets and of the admin section.
      this.#file = fileConfig;
      return result;
    });
  }

  /** Admin API: replaces the whole config with `value` (an unvalidated request body). */
  replace(value: unknown, meta: ChangeMeta, options: WriteOptions = {}): Promise<ChangeResult> {
    return this.#serialise(meta.source, async () => {
      checkIfVersion(options.ifVersion, this.current.version);
      return this.#commit(candidateFromApi(value, this.current.config, this.#file, ['admin'], options.mapPath), meta);
    });
  }

  /**
   * Admin API: edits a copy of the config in force. `edit` throws
   * InvalidChangeError for requests that make no sense (unknown route...);
   * the result is validated like any other config.
   */
  update(edit: (draft: Config) => void, meta: ChangeMeta, options: WriteOptions = {}): Promise<ChangeResult> {
    return this.#serialise(meta.source, async () => {
      checkIfVersion(options.ifVersion, this.current.version);
      const draft = structuredClone(this.current.config);
      edit(draft);
      return this.#commit(validateCandidate(draft, options.mapPath), meta);
    });
  }

  /** Admin API: makes the config of an earlier version current again, as a new version. */
  rollback(version: number, meta: Omit<ChangeMeta, 'source'>, options: WriteOptions = {}): Promise<ChangeResult> {
    return this.#serialise('rollback', async () => {
      checkIfVersion(options.ifVersion, this.current.version);
      const record = this.#history.get(version);
      if (!record) throw new VersionNotFoundError(version, this.#history.versions());
      const candidate = structuredClone(record.config) as Config;
      setAdmin(candidate, this.current.config.admin);
      const issues = restoreSecrets(candidate, [this.current.config, this.#file]);
      if (issues.length) throw new InvalidChangeError(issues.map((i) => ({ ...i, message: `version ${version}: ${i.message}` })));
      return this.#commit(validateCandidate(candidate, (p) => `config of version ${version}: ${p || '(root)'}`), { ...meta, source: 'rollback' }, { rolledBackTo: version });
    });
  }

  /** Every later change (API, rollback, file reload) must pass `guard`; returns the function that removes it. */
  addGuard(guard: ChangeGuard): () => void {
    this.#guards.add(guard);
    return () => void this.#guards.delete(guard);
  }

  onApplied(listener: (version: number, config: Config) => void): () => void {
    this.#applied.add(listener);
    return () => void this.#applied.delete(listener);
  }

  status(): StoreStatus {
    const version = this.#current?.version ?? 0;
    return { kind: 'file', up: true, version, storeVersion: version, location: this.#doc.file, lastError: null, refused: null };
  }

  async close(): Promise<void> {
    this.#applied.clear();
  }

  #setCurrent(version: number, config: Config): void {
    this.#current = { version, config };
    controlMetrics.configVersion.set(version);
    controlMetrics.storeUp.set(1);
    for (const l of this.#applied) l(version, config);
  }

  async #commit(candidate: Config, meta: ChangeMeta, extra: { fileVersion?: number; rolledBackTo?: number; applyUnchanged?: boolean } = {}): Promise<ChangeResult> {
    const prev = this.#current ?? (this.#history.head ? { version: this.#history.head.version, config: this.#history.head.config } : undefined);
    const previousVersion = prev?.version ?? 0;
    const fileBumped = extra.fileVersion !== undefined && extra.fileVersion > previousVersion;
    if (prev && !fileBumped && sameConfig(candidate, prev.config)) {
      // Nothing to record. A file reload is still applied: a secret rotated in the environment changes no version.
      if (extra.applyUnchanged) {
        const config = withVersion(candidate, previousVersion);
        await this.#applyOrReject(config, previousVersion, meta);
        this.#setCurrent(previousVersion, config);
      }
      controlMetrics.configChanges.labels(meta.source, 'unchanged').inc();
      this.#logger.info({ version: previousVersion, source: meta.source, change: meta.change }, 'config unchanged');
      return { version: previousVersion, previousVersion, changed: false, record: this.#history.get(previousVersion) };
    }

    if (prev) for (const guard of this.#guards) guard(candidate, prev.config, meta);
    const version = nextVersion(previousVersion, extra.fileVersion);
    const config = withVersion(candidate, version);
    const record: VersionRecord = {
      version,
      at: new Date(this.#clock.wallNow()).toISOString(),
      source: meta.source,
      author: meta.author,
      change: meta.change,
      ...(extra.fileVersion !== undefined ? { fileVersion: extra.fileVersion } : {}),
      ...(extra.rolledBackTo !== undefined ? { rolledBackTo: extra.rolledBackTo } : {}),
      config: redactSecrets(config),
    };
    const next = this.#history.appended(record);

    await this.#applyOrReject(config, version, meta);
    try {
      await this.#doc.write(next);
    } catch (err) {
      const detail = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      if (this.#current) {
        // Put the running gateway back to what is on disk.
        await this.#apply(this.#current.config, this.#current.version, 'revert').catch((revertErr: Error) =>
          this.#logger.fatal({ err: revertErr.message, version: this.#current?.version }, 'cannot restore the previous config after a failed persist'),
        );
      }
      this.#logger.error({ version, err: detail, file: this.#doc.file }, 'config change not persisted; reverted');
      throw new PersistError(detail, { cause: err });
    }
    this.#history = next;
    this.#setCurrent(version, config);
    controlMetrics.configChanges.labels(meta.source, 'applied').inc();
    this.#logger.info({ version, previousVersion, source: meta.source, author: meta.author, change: meta.change }, 'config version applied');
    return { version, previousVersion, changed: true, record };
  }

  async #applyOrReject(config: Config, version: number, meta: ChangeMeta): Promise<void> {
    try {
      await this.#apply(config, version, meta.source === 'file' ? `file` : meta.source);
    } catch (err) {
      // Compiling or binding failed (a certificate file that isn't there, a port in use): the config's fault, nothing changed.
      throw new InvalidChangeError([{ path: '', message: `cannot apply: ${(err as Error).message}` }], 'EP_CONFIG_APPLY_FAILED');
    }
  }

  /** One change at a time, so version numbers follow the order changes reach the gateway. */
  #serialise<T>(source: ChangeSource, fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn).catch((err: unknown) => {
      if (err instanceof InvalidChangeError) controlMetrics.configChanges.labels(source, 'rejected').inc();
      else if (err instanceof PersistError) controlMetrics.configChanges.labels(source, 'failed').inc();
      throw err;
    });
    this.#queue = run.catch(() => {});
    return run;
  }
}

function setAdmin(candidate: Record<string, unknown>, admin: AdminConfig | undefined): Record<string, unknown> {
  if (admin === undefined) delete candidate.admin;
  else candidate.admin = structuredClone(admin);
  return candidate;
}

export type { PersistedHistory };
export type { ConfigApplier, ChangeMeta, ChangeGuard, WriteOptions, ChangeResult };
