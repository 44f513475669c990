import { randomUUID } from 'node:crypto';
import type { Etcd3, IKeyValue, IRangeResponse, Watcher } from 'etcd3';
import type { Config, EtcdStoreConfig } from '../config/schema/index.ts';
import type { Logger } from '../util/logger.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { DurableDocument, StateDir } from './persistence.ts';
import { VersionHistory, type ChangeSource } from './history.ts';
import { redactSecrets } from './secrets.ts';
import { canonical, withVersion } from './config-equal.ts';
import { candidateFromApi, checkIfVersion, restoreStored, validateCandidate } from './candidates.ts';
import { fleetPart, withNodeLocal, NODE_LOCAL_KEYS } from './node-local.ts';
import { configKey, fleetRecord, historyKey, historyPrefix, parseFleetRecord, type FleetRecord } from './fleet-record.ts';
import { ControlError, FencedError, InvalidChangeError, StateCorruptError, StoreUnavailableError, VersionConflictError, VersionNotFoundError, type Issue } from './errors.ts';
import { controlMetrics } from './metrics.ts';
import { createEtcdClient, etcdSettings, type EtcdSettings } from './etcd-client.ts';
import { LeasedKeys } from './leased-keys.ts';
import { LAST_KNOWN_GOOD_DOCUMENT, parseLastKnownGood, type LastKnownGood } from './last-known-good.ts';
import type { ConfigStore, ConfigApplier, ChangeMeta, ChangeGuard, WriteOptions, ChangeResult, StoreStatus } from './store.ts';
import { fileVersionOf } from './options.ts';

export interface EtcdConfigStoreOptions {
  etcd: EtcdStoreConfig;
  /** Relative TLS file paths resolve against this. */
  baseDir: string;
  /** This node's state directory: the last-known-good config lives there. */
  stateDir: StateDir;
  historyLimit: number;
  apply: ConfigApplier;
  logger: Logger;
  clock: Clock;
  /** Tests: a client built elsewhere (still a real etcd). */
  client?: Etcd3;
}

/** The head document as last read from etcd (valid or not). */
interface Head {
  modRevision: number;
  record: FleetRecord | null;
}

type CasOutcome = { kind: 'stored'; revision: number } | { kind: 'conflict'; head: Head } | { kind: 'fenced'; detail: string } | { kind: 'not_stored'; detail: string } | { kind: 'unknown'; detail: string };

/**
 * The fleet's config in etcd: one versioned document for every node.
 *
 * Every write is a compare-and-swap on the mod revision of the head it was
 * based on, so two nodes writing at once give one success and one conflict.
 * Every node watches the prefix and applies each new version through the same
 * validate-compile-swap path as a local change; a document that does not
 * validate is refused (the node keeps its version and reports the errors in
 * status()). The last applied document is kept on local disk (last-known-good):
 * a node that starts while etcd is unreachable serves it, and a wiped etcd is
 * re-seeded from it instead of the fleet going back in time.
 *
 * A write cut off by an etcd failure may be stored even though the client saw
 * an error: each write carries an id and an unclear outcome is read back
 * (`<prefix>/history/<version>`); only a compare-and-swap that is known not
 * to have been stored is sent again.
 */
export class EtcdConfigStore implements ConfigStore {
  readonly kind = 'etcd';
  readonly #o: EtcdConfigStoreOptions;
  readonly #s: EtcdSettings;
  readonly #client: Etcd3;
  readonly #log: Logger;
  readonly #lkg: DurableDocument<LastKnownGood>;
  readonly #guards = new Set<ChangeGuard>();
  readonly #applied = new Set<(version: number, config: Config) => void>();
  /** The kept versions, by version (fleet part, secrets redacted). */
  readonly #records = new Map<number, FleetRecord>();
  #queue: Promise<unknown> = Promise.resolve();
  #file: Config | undefined;
  #current: { version: number; config: Config; writeId: string | null } | undefined;
  #head: Head | null = null;
  #up = false;
  #lastError: string | null = null;
  #lastContactAt: number | null = null;
  #refused: StoreStatus['refused'] = null;
  /** The highest store revision and the cluster id seen: a revision going backwards or a new id means etcd was wiped. */
  #revisionSeen = 0;
  #clusterId: string | null = null;
  #watcher: Watcher | null = null;
  #watchBroken = true;
  /** A wipe or replacement noticed by any response, for the next probe to recover from. */
  #wipeToHandle = false;
  #probeTimer: TimerHandle | undefined;
  #probing = false;
  #closed = false;
  /** This node's status key (`<prefix>/nodes/<id>`), alive while the node is. */
  readonly #leased: LeasedKeys;

  private constructor(o: EtcdConfigStoreOptions, lkg: DurableDocument<LastKnownGood>) {
    this.#o = o;
    this.#s = etcdSettings(o.etcd);
    this.#client = o.client ?? createEtcdClient(o.etcd, o.baseDir);
    this.#log = o.logger.child({ component: 'config-store', store: 'etcd', prefix: this.#s.prefix });
    this.#lkg = lkg;
    this.#leased = new LeasedKeys(this.#client, this.#s.leaseTtlMs, this.#log);
  }

  /** Keys this node keeps alive under its lease (node status; release traffic counters). */
  get leased(): LeasedKeys {
    return this.#leased;
  }

  /** Every live node of the fleet as it published itself (version served, store state), sorted by id. */
  async nodes(): Promise<FleetNodeStatus[]> {
    const res = await this.#client.getAll().prefix(nodesPrefix(this.#s.prefix)).exec();
    const out: FleetNodeStatus[] = [];
    for (const kv of res.kvs) {
      const v = tryJson(kv.value.toString());
      if (typeof v === 'object' && v !== null) out.push(v as FleetNodeStatus);
    }
    return out.sort((a, b) => String(a.id).localeCompare(String(b.id)));
  }

  #publishNode(): void {
    const node = this.#file?.node;
    if (!node || this.#closed) return;
    const status: FleetNodeStatus = {
      id: node.id,
      region: node.region,
      version: this.#current?.version ?? 0,
      refused: this.#refused ? { version: this.#refused.version, errors: this.#refused.errors.length } : null,
      pid: process.pid,
      ...(this.#dnssec ? { dnssec: this.#dnssec } : {}),
      at: new Date(this.#o.clock.wallNow()).toISOString(),
    };
    const { at: _at, ...stable } = status;
    // Written when something other than the time changed; the lease keeps it alive in between.
    if (this.#published !== JSON.stringify(stable)) {
      this.#published = JSON.stringify(stable);
      this.#leased.set(`${nodesPrefix(this.#s.prefix)}${node.id}`, JSON.stringify(status));
    }
    void this.#leased.flush();
  }

  #published = '';
  #dnssec: Record<string, string> | undefined;

  /** Adds the DNSKEY-set fingerprint of every zone this node serves to its status key, where peers compare theirs. */
  setDnssecKeysets(keysets: Record<string, string>): void {
    const next = Object.keys(keysets).length > 0 ? keysets : undefined;
    if (JSON.stringify(next) === JSON.stringify(this.#dnssec)) return;
    this.#dnssec = next;
    this.#publishNode();
  }

  static async open(o: EtcdConfigStoreOptions): Promise<EtcdConfigStore> {
    return new EtcdConfigStore(o, o.stateDir.document(LAST_KNOWN_GOOD_DOCUMENT, parseLastKnownGood));
  }

  /** The etcd client (the release leader election and node status share its connections). */
  get client(): Etcd3 {
    return this.#client;
  }

  get prefix(): string {
    return this.#s.prefix;
  }

  get settings(): EtcdSettings {
    return this.#s;
  }

  get current(): { version: number; config: Config } {
    if (!this.#current) throw new Error('config store not started');
    return this.#current;
  }

  get history(): VersionHistory {
    const records = [...this.#records.values()].sort((a, b) => a.version - b.version);
    return new VersionHistory(this.#o.historyLimit, records);
  }

  get up(): boolean {
    return this.#up;
  }

  status(): StoreStatus {
    return {
      kind: 'etcd',
      up: this.#up,
      version: this.#current?.version ?? 0,
      storeVersion: this.#head?.record?.version ?? 0,
      location: `${this.#s.endpoints.join(',')} ${this.#s.prefix}`,
      lastError: this.#lastError,
      refused: this.#refused,
      revision: this.#head?.modRevision ?? 0,
      lastContactAt: this.#lastContactAt === null ? null : new Date(this.#lastContactAt).toISOString(),
    };
  }

  addGuard(guard: ChangeGuard): () => void {
    this.#guards.add(guard);
    return () => void this.#guards.delete(guard);
  }

  onApplied(listener: (version: number, config: Config) => void): () => void {
    this.#applied.add(listener);
    return () => void this.#applied.delete(listener);
  }

  // ---- start ---------------------------------------------------------------

  /**
   * Serves what the fleet serves: the head in etcd when it is reachable (an
   * empty store is seeded from this node's last-known-good, else from the
   * file); the last-known-good when it is not (else the file), then catches
   * up in the background.
   */
  start(fileConfig: Config, filePath: string | undefined): Promise<ChangeResult> {
    return this.#serialise('file', async () => {
      this.#file = fileConfig;
      const lkg = await this.#readLkg();
      let head: Head | null = null;
      try {
        head = await this.#readHead(this.#s.dialTimeoutMs);
        await this.#loadHistory();
      } catch (err) {
        this.#down(err);
      }
      let result: ChangeResult | null = null;
      if (head) {
        if (!head.record || (lkg && lkg.record.version > head.record.version)) {
          const seed = lkg?.record ?? this.#recordFromFile(fileConfig, `seed from ${filePath ?? 'the config file'}`);
          const why = head.record ? `etcd holds version ${head.record.version}, older than this node's last-known-good ${seed.version} (etcd restored or wiped)` : 'the store is empty';
          this.#log.warn({ version: seed.version, why }, 'seeding the fleet config store');
          head = await this.#seed(seed, head).catch((err) => {
            this.#down(err);
            return head;
          });
        }
        if (head?.record && (await this.#applyRecord(head.record, head.modRevision, 'start'))) {
          result = { version: head.record.version, previousVersion: 0, changed: false, record: head.record };
        }
      }
      if (!result && lkg && (await this.#applyRecord(lkg.record, 0, 'last-known-good'))) {
        this.#log.warn({ version: lkg.record.version, storeUp: this.#up }, 'serving the last-known-good config');
        result = { version: lkg.record.version, previousVersion: 0, changed: false, record: lkg.record };
      }
      if (!result) {
        // Nothing from the store can be served: the file keeps the node up until the store answers.
        const config = withVersion(validateCandidate(fileConfig), 0);
        await this.#o.apply(config, 0, 'file');
        this.#setCurrent(0, config, null);
        this.#log.error({ storeUp: this.#up }, 'no usable config in the store and no last-known-good: serving the config file as version 0 until the store answers');
        result = { version: 0, previousVersion: 0, changed: false, record: undefined };
      }
      this.#startWatch();
      this.#scheduleProbe();
      return result;
    });
  }

  /** SIGHUP or a file watch: node-local sections and secrets apply at once; the fleet sections come from the store (use `edgeplane store import`). */
  reloadFile(fileConfig: Config, change: string): Promise<ChangeResult> {
    return this.#serialise('file', async () => {
      const current = this.current;
      const record = current.version > 0 ? this.#records.get(current.version) ?? (this.#head?.record?.version === current.version ? this.#head.record : undefined) : undefined;
      const fleet = record ? (record.config as unknown as Record<string, unknown>) : fleetPart(redactSecrets(current.config));
      const restored = restoreStored(fleet, (c) => withNodeLocal(c, fileConfig), [fileConfig, current.config]);
      if (!restored.ok) throw new InvalidChangeError(restored.issues);
      const config = withVersion(restored.config, current.version);
      try {
        await this.#o.apply(config, current.version, 'file');
      } catch (err) {
        throw new InvalidChangeError([{ path: '', message: `cannot apply: ${(err as Error).message}` }], 'EP_CONFIG_APPLY_FAILED');
      }
      this.#file = fileConfig;
      this.#setCurrent(current.version, config, this.#current?.writeId ?? null);
      this.#log.info({ version: current.version, change }, 'node-local sections reloaded from the file (fleet sections come from the store)');
      return { version: current.version, previousVersion: current.version, changed: false, record };
    });
  }

  // ---- writes --------------------------------------------------------------

  replace(value: unknown, meta: ChangeMeta, options: WriteOptions = {}): Promise<ChangeResult> {
    return this.#serialise(meta.source, async () => {
      checkIfVersion(options.ifVersion, this.current.version);
      return this.#write(candidateFromApi(value, this.current.config, this.#file, NODE_LOCAL_KEYS, options.mapPath), meta, options);
    });
  }

  update(edit: (draft: Config) => void, meta: ChangeMeta, options: WriteOptions = {}): Promise<ChangeResult> {
    return this.#serialise(meta.source, async () => {
      checkIfVersion(options.ifVersion, this.current.version);
      const draft = structuredClone(this.current.config);
      edit(draft);
      return this.#write(validateCandidate(draft, options.mapPath), meta, options);
    });
  }

  rollback(version: number, meta: Omit<ChangeMeta, 'source'>, options: WriteOptions = {}): Promise<ChangeResult> {
    return this.#serialise('rollback', async () => {
      checkIfVersion(options.ifVersion, this.current.version);
      const record = this.#records.get(version);
      if (!record) throw new VersionNotFoundError(version, [...this.#records.keys()].sort((a, b) => a - b));
      const restored = restoreStored(record.config as unknown as Record<string, unknown>, (c) => withNodeLocal(c, this.#file ?? this.current.config), [this.current.config, this.#file]);
      if (!restored.ok) throw new InvalidChangeError(restored.issues.map((i) => ({ path: `config of version ${version}: ${i.path || '(root)'}`, message: i.message })));
      return this.#write(restored.config, { ...meta, source: 'rollback' }, options, version);
    });
  }

  /**
   * `edgeplane store import`: makes `config` (a whole config file) the fleet's
   * next version, without applying it here (this process is not a gateway).
   */
  importConfig(fileConfig: Config, change: string): Promise<ChangeResult> {
    return this.#serialise('file', async () => {
      this.#file = fileConfig;
      const head = await this.#readHead(this.#s.dialTimeoutMs);
      await this.#loadHistory();
      this.#head = head;
      const config = validateCandidate(fileConfig);
      const fleet = fleetPart(redactSecrets(config));
      const previous = head.record?.version ?? 0;
      if (head.record && canonical(fleet) === canonical(head.record.config)) {
        return { version: previous, previousVersion: previous, changed: false, record: head.record };
      }
      const version = Math.max(previous + 1, fileVersionOf(fileConfig));
      const record = this.#newRecord(version, fleet, { source: 'file', author: 'store import', change });
      const outcome = await this.#cas(record, head.modRevision, undefined);
      this.#settleOutcome(outcome, previous);
      return { version, previousVersion: previous, changed: true, record };
    });
  }

  /** `edgeplane store export`: the head document as stored (fleet part, secrets redacted). */
  async exportHead(): Promise<FleetRecord | null> {
    return (await this.#readHead(this.#s.dialTimeoutMs)).record;
  }

  async #write(candidate: Config, meta: ChangeMeta, options: WriteOptions, rolledBackTo?: number): Promise<ChangeResult> {
    const current = this.current;
    if (!this.#up || !this.#head) throw new StoreUnavailableError(this.#lastError ?? 'not connected');
    const fleet = fleetPart(redactSecrets(candidate));
    const base = this.#head;
    const baseVersion = base.record?.version ?? 0;
    const currentFleet = this.#records.get(current.version)?.config ?? fleetPart(redactSecrets(current.config));
    if (baseVersion === current.version && canonical(fleet) === canonical(currentFleet)) {
      controlMetrics.configChanges.labels(meta.source, 'unchanged').inc();
      return { version: current.version, previousVersion: current.version, changed: false, record: this.#records.get(current.version) };
    }
    if (options.ifVersion !== undefined && baseVersion !== current.version) throw new VersionConflictError(options.ifVersion, baseVersion);
    for (const guard of this.#guards) guard(candidate, current.config, meta);
    const version = Math.max(baseVersion, current.version) + 1;
    const record = this.#newRecord(version, fleet, meta, rolledBackTo);
    const outcome = await this.#cas(record, base.modRevision, meta.fence);
    const revision = this.#settleOutcome(outcome, current.version);
    this.#head = { modRevision: revision, record };
    this.#records.set(version, record);
    this.#pruneHistory();
    if (!(await this.#applyRecord(record, revision, meta.source))) {
      // Stored for the fleet, refused here (e.g. a listener this node can't bind): status() shows why.
      this.#log.error({ version, refused: this.#refused?.errors }, 'the version written through this node was stored but cannot be applied here');
    }
    controlMetrics.configChanges.labels(meta.source, 'applied').inc();
    this.#log.info({ version, previousVersion: current.version, source: meta.source, author: meta.author, change: meta.change }, 'config version stored in etcd and applied');
    return { version, previousVersion: current.version, changed: true, record };
  }

  /** Turns a write's outcome into its store revision, or the error the caller answers. */
  #settleOutcome(outcome: CasOutcome, basedOn: number): number {
    switch (outcome.kind) {
      case 'stored':
        return outcome.revision;
      case 'conflict':
        this.#noteHead(outcome.head, true);
        throw new VersionConflictError(String(basedOn), outcome.head.record?.version ?? 0, 'concurrent');
      case 'fenced':
        throw new FencedError(outcome.detail);
      case 'not_stored':
        throw new StoreUnavailableError(outcome.detail);
      case 'unknown':
        throw new StoreUnavailableError(outcome.detail, true);
    }
  }

  /**
   * One compare-and-swap of the head (and its history entry), with the
   * outcome made certain: an error is resolved by reading the version's
   * history key back (our writeId → stored; another → conflict; none →
   * not stored, so the same CAS may be sent again until the deadline).
   */
  async #cas(record: FleetRecord, baseRevision: number, fence: ChangeMeta['fence']): Promise<CasOutcome> {
    const p = this.#s.prefix;
    const text = JSON.stringify(record);
    const deadline = Date.now() + Math.max(3000, 2 * this.#s.requestTimeoutMs);
    let lastDetail = '';
    for (let attempt = 0; ; attempt++) {
      try {
        let txn = this.#client.if(configKey(p), 'Mod', '==', baseRevision);
        if (fence) txn = txn.and(fence.key, 'Create', '==', fence.revision);
        const ops = [this.#client.put(configKey(p)).value(text), this.#client.put(historyKey(p, record.version)).value(text)];
        const old = record.version - this.#o.historyLimit;
        if (old > 0) ops.push(this.#client.delete().key(historyKey(p, old)) as never);
        const res = await txn.then(...ops).else(this.#client.get(configKey(p)), ...(fence ? [this.#client.get(fence.key)] : [])).commit();
        this.#contact(res.header);
        if (res.succeeded) return { kind: 'stored', revision: Number(res.header.revision) };
        const headKv = res.responses[0]?.response_range?.kvs[0];
        if (fence) {
          const leaderKv = res.responses[1]?.response_range?.kvs[0];
          if (!leaderKv || Number(leaderKv.create_revision) !== fence.revision) {
            return { kind: 'fenced', detail: leaderKv ? `the leader key is now held since revision ${leaderKv.create_revision}, not ${fence.revision}` : 'the leader key is gone (lease expired)' };
          }
        }
        return { kind: 'conflict', head: this.#headOf(headKv) };
      } catch (err) {
        lastDetail = (err as Error).message;
        this.#log.warn({ version: record.version, writeId: record.writeId, attempt, err: lastDetail }, 'etcd write failed; reading it back to learn its outcome');
      }
      // The outcome is unknown: read the history key back.
      let stored: IKeyValue | undefined;
      try {
        const rb = await this.#client.get(historyKey(p, record.version)).exec();
        this.#contact(rb.header);
        stored = rb.kvs[0];
      } catch (err) {
        lastDetail = `${lastDetail}; read-back failed: ${(err as Error).message}`;
        if (Date.now() >= deadline) {
          this.#down(err);
          return { kind: 'unknown', detail: lastDetail };
        }
        await sleep(100);
        continue;
      }
      if (stored) {
        let other: FleetRecord | null = null;
        try {
          other = parseFleetRecord(stored.value.toString());
        } catch {
          /* someone else's bytes under that version */
        }
        if (other?.writeId === record.writeId) {
          this.#log.info({ version: record.version, writeId: record.writeId }, 'etcd write confirmed by read-back');
          return { kind: 'stored', revision: Number(stored.mod_revision) };
        }
        const head = await this.#readHead(this.#s.requestTimeoutMs).catch(() => ({ modRevision: Number(stored.mod_revision), record: other }));
        return { kind: 'conflict', head };
      }
      if (Date.now() >= deadline) return { kind: 'not_stored', detail: `${lastDetail} (read back: not stored)` };
      // Known not stored (so far): the same CAS is safe to send again; if the first lands after all, its compare fails and the read-back finds it.
      await sleep(100);
    }
  }

  #newRecord(version: number, fleet: Record<string, unknown>, meta: Pick<ChangeMeta, 'source' | 'author' | 'change'>, rolledBackTo?: number): FleetRecord {
    return fleetRecord({
      version,
      writeId: randomUUID(),
      at: new Date(this.#o.clock.wallNow()).toISOString(),
      source: meta.source,
      author: meta.author,
      change: meta.change,
      ...(rolledBackTo !== undefined ? { rolledBackTo } : {}),
      config: fleet,
    });
  }

  #recordFromFile(fileConfig: Config, change: string): FleetRecord {
    return this.#newRecord(Math.max(1, fileVersionOf(fileConfig)), fleetPart(redactSecrets(validateCandidate(fileConfig))), { source: 'file', author: 'file', change });
  }

  /** Writes `record` as the head when the store is empty or holds an older version; returns the head after. */
  async #seed(record: FleetRecord, head: Head): Promise<Head> {
    const seeded = { ...record, writeId: randomUUID() };
    const outcome = await this.#cas(seeded, head.modRevision, undefined);
    if (outcome.kind === 'stored') {
      this.#records.set(seeded.version, seeded);
      // Noted now, not when the watch brings it back: a write before that would build its compare on the empty store (a spurious 409), and the seed would be applied twice.
      const stored = { modRevision: outcome.revision, record: seeded };
      this.#noteHead(stored);
      return stored;
    }
    if (outcome.kind === 'conflict') {
      this.#noteHead(outcome.head, true);
      return outcome.head;
    }
    throw new StoreUnavailableError(outcome.kind === 'fenced' ? outcome.detail : outcome.detail, outcome.kind === 'unknown');
  }

  // ---- applying what the store holds ----------------------------------------

  /** Validates and applies a stored record on this node; false (with the errors in status) when it is refused. */
  async #applyRecord(record: FleetRecord, modRevision: number, why: string): Promise<boolean> {
    const file = this.#file!;
    const restored = restoreStored(record.config as unknown as Record<string, unknown>, (c) => withNodeLocal(c, file), [file, this.#current?.config]);
    if (!restored.ok) return this.#refuse(record.version, restored.issues);
    const config = withVersion(restored.config, record.version);
    try {
      await this.#o.apply(config, record.version, `store:${record.source}`);
    } catch (err) {
      return this.#refuse(record.version, [{ path: '', message: `cannot apply: ${(err as Error).message}` }]);
    }
    this.#setCurrent(record.version, config, record.writeId);
    if (this.#refused && this.#refused.version <= record.version) this.#refused = null;
    this.#log.info({ version: record.version, why, author: record.author, change: record.change }, 'config version applied');
    await this.#lkg.write({ format: 1, prefix: this.#s.prefix, revision: modRevision, clusterId: this.#clusterId, record }).catch((err: Error) => {
      this.#log.error({ err: err.message, file: this.#lkg.file }, 'cannot write the last-known-good config');
    });
    return true;
  }

  #refuse(version: number, errors: Issue[]): false {
    controlMetrics.storeRejected.inc();
    this.#refused = { version, at: new Date(this.#o.clock.wallNow()).toISOString(), errors };
    this.#log.error({ version, errors: errors.map((e) => `${e.path || '(root)'}: ${e.message}`) }, 'config version from the store refused: keeping the version in force');
    this.#publishNode();
    return false;
  }

  #setCurrent(version: number, config: Config, writeId: string | null): void {
    this.#current = { version, config, writeId };
    controlMetrics.configVersion.set(version);
    this.#publishNode();
    for (const l of this.#applied) {
      try {
        l(version, config);
      } catch (err) {
        this.#log.error({ err: (err as Error).message }, 'config listener failed');
      }
    }
  }

  /** A head seen in a watch event, a probe or a failed compare: apply it when it is new; re-seed when etcd went back in time. */
  async #onHead(head: Head): Promise<void> {
    this.#noteHead(head);
    const current = this.#current;
    if (!current) return;
    if (!head.record) {
      if (head.modRevision === 0) await this.#reseed(head, 'the fleet config key is gone');
      return;
    }
    if (head.record.version === current.version && head.record.writeId === current.writeId) return;
    if (head.record.version < current.version && current.writeId !== null) {
      await this.#reseed(head, `etcd holds version ${head.record.version}, older than the ${current.version} this node serves`);
      return;
    }
    if (this.#refused?.version === head.record.version) return;
    await this.#applyRecord(head.record, head.modRevision, 'watch');
  }

  /** etcd lost the fleet's config (wiped, restored from an old backup): write back this node's last applied version. */
  async #reseed(head: Head, why: string): Promise<void> {
    const lkg = await this.#readLkg();
    if (!lkg || (head.record && head.record.version >= lkg.record.version)) return;
    this.#log.warn({ why, version: lkg.record.version }, 're-seeding etcd from the last-known-good config');
    try {
      const after = await this.#seed(lkg.record, head);
      this.#noteHead(after);
      if (after.record && after.record.version !== this.#current?.version) await this.#applyRecord(after.record, after.modRevision, 're-seed');
    } catch (err) {
      this.#down(err);
    }
  }

  /**
   * `authoritative`: read in the same transaction as a failed compare, so it is the head now, even with a
   * lower revision than the one we knew (etcd was wiped and re-seeded by another node); otherwise a lower
   * revision is a late event and is ignored.
   */
  #noteHead(head: Head, authoritative = false): void {
    if (authoritative || !this.#head || head.modRevision >= this.#head.modRevision || head.modRevision === 0) this.#head = head;
    if (head.record) this.#records.set(head.record.version, head.record);
    this.#pruneHistory();
  }

  // ---- watch and probe -----------------------------------------------------

  #startWatch(): void {
    if (this.#closed) return;
    const old = this.#watcher;
    this.#watcher = null;
    if (old) void old.cancel().catch(() => {});
    const from = String(Math.max(1, (this.#head?.modRevision ?? 0) + 1));
    const p = this.#s.prefix;
    this.#watchBroken = false;
    this.#client
      .watch()
      .prefix(`${p}/`)
      .startRevision(from)
      .create()
      .then((w) => {
        if (this.#closed) return void w.cancel().catch(() => {});
        this.#watcher = w;
        w.on('data', (res) => {
          this.#contact(res.header);
          for (const ev of res.events) {
            const key = ev.kv.key.toString();
            if (key === configKey(p)) {
              const head = ev.type === 'Delete' ? { modRevision: 0, record: null } : this.#headOf(ev.kv);
              void this.#serialise('api', () => this.#onHead(head)).catch(() => {});
            } else if (key.startsWith(historyPrefix(p))) {
              this.#onHistoryEvent(ev.type, ev.kv);
            }
          }
        });
        // A compacted start revision or a cancelled watch: the probe re-reads the head and watches again.
        w.on('error', (err: Error) => {
          this.#watchBroken = true;
          this.#log.warn({ err: err.message }, 'etcd watch cancelled; re-reading the head');
        });
        w.on('disconnected', (err: Error) => this.#log.debug({ err: err?.message }, 'etcd watch disconnected'));
      })
      .catch((err: Error) => {
        this.#watchBroken = true;
        this.#log.warn({ err: err.message }, 'cannot start the etcd watch; retrying');
      });
  }

  #onHistoryEvent(type: string, kv: IKeyValue): void {
    if (type === 'Delete') {
      const v = Number(kv.key.toString().slice(historyPrefix(this.#s.prefix).length));
      if (Number.isSafeInteger(v)) this.#records.delete(v);
      return;
    }
    try {
      const r = parseFleetRecord(kv.value.toString());
      this.#records.set(r.version, r);
      this.#pruneHistory();
    } catch {
      /* an unreadable history entry is not listed */
    }
  }

  #scheduleProbe(): void {
    if (this.#closed) return;
    this.#probeTimer = this.#o.clock.setTimeout(() => void this.#probe(), this.#s.probeIntervalMs);
  }

  /**
   * Every probeInterval: is etcd reachable, was it wiped (revision backwards,
   * new cluster id), did the head move without the watch telling (a missed or
   * compacted watch)? Any of these is settled here without a restart.
   */
  async #probe(): Promise<void> {
    if (this.#closed || this.#probing) return;
    this.#probing = true;
    try {
      const res = await this.#client.get(configKey(this.#s.prefix)).exec();
      const wasDown = !this.#up;
      this.#contact(res.header);
      const wiped = this.#wipeToHandle;
      this.#wipeToHandle = false;
      const head = this.#headOf(res.kvs[0]);
      if (wasDown) this.#log.info({ revision: head.modRevision }, 'etcd reachable again; catching up');
      if (wiped || wasDown || this.#watchBroken) await this.#loadHistory().catch(() => {});
      if (wiped || head.modRevision !== this.#head?.modRevision || head.record?.writeId !== this.#current?.writeId) {
        // Dropped in the queue, not here: a write queued before this runs on the head it knew.
        await this.#serialise('api', () => {
          if (wiped) this.#head = null;
          return this.#onHead(head);
        });
      }
      if (wiped || this.#watchBroken) this.#startWatch();
      this.#publishNode();
    } catch (err) {
      this.#down(err);
    } finally {
      this.#probing = false;
      this.#scheduleProbe();
    }
  }

  /** Records that etcd answered; a revision that went backwards or a changed cluster id (wiped or replaced) is flagged for the probe. */
  #contact(header: { cluster_id: string; revision: string }): void {
    const revision = Number(header.revision);
    const wiped = (this.#clusterId !== null && header.cluster_id !== this.#clusterId) || revision < this.#revisionSeen;
    if (wiped) {
      this.#log.warn({ clusterId: header.cluster_id, was: this.#clusterId, revision, seen: this.#revisionSeen }, 'etcd was wiped or replaced (revision went backwards)');
      // Whoever noticed (a write, the watch, a read), the next probe reloads history and watches again.
      this.#wipeToHandle = true;
    }
    this.#clusterId = header.cluster_id;
    this.#revisionSeen = wiped ? revision : Math.max(this.#revisionSeen, revision);
    this.#lastContactAt = this.#o.clock.wallNow();
    if (!this.#up) controlMetrics.storeUp.set(1);
    this.#up = true;
    this.#lastError = null;
  }

  #down(err: unknown): void {
    const message = (err as Error).message ?? String(err);
    if (this.#up || this.#lastError === null) this.#log.error({ err: message }, 'etcd unreachable: serving the config in force; admin writes answer 503 until it is back');
    this.#up = false;
    this.#lastError = message;
    controlMetrics.storeUp.set(0);
  }

  async #readHead(timeoutMs: number): Promise<Head> {
    const res: IRangeResponse = await this.#client
      .get(configKey(this.#s.prefix))
      .options({ deadline: Date.now() + timeoutMs })
      .exec();
    this.#contact(res.header);
    const head = this.#headOf(res.kvs[0]);
    this.#noteHead(head);
    return head;
  }

  async #loadHistory(): Promise<void> {
    const res = await this.#client.getAll().prefix(historyPrefix(this.#s.prefix)).exec();
    this.#contact(res.header);
    const seen = new Set<number>();
    for (const kv of res.kvs) {
      try {
        const r = parseFleetRecord(kv.value.toString());
        this.#records.set(r.version, r);
        seen.add(r.version);
      } catch {
        /* skipped */
      }
    }
    // Versions etcd no longer has (wiped) stay listed only when they are the one this node serves.
    for (const v of [...this.#records.keys()]) if (!seen.has(v) && v !== this.#current?.version) this.#records.delete(v);
    this.#pruneHistory();
  }

  #pruneHistory(): void {
    const versions = [...this.#records.keys()].sort((a, b) => a - b);
    for (const v of versions.slice(0, Math.max(0, versions.length - this.#o.historyLimit))) this.#records.delete(v);
  }

  /** A head from a key-value; a document that does not parse is a refused version (logged, in status). */
  #headOf(kv: IKeyValue | undefined): Head {
    if (!kv) return { modRevision: 0, record: null };
    const modRevision = Number(kv.mod_revision);
    try {
      return { modRevision, record: parseFleetRecord(kv.value.toString()) };
    } catch (err) {
      const raw = Number((tryJson(kv.value.toString()) as { version?: unknown } | undefined)?.version);
      const version = Number.isSafeInteger(raw) ? raw : 0;
      if (this.#refused?.version !== version || this.#head?.modRevision !== modRevision) {
        this.#refuse(version, [{ path: '', message: `the document at ${configKey(this.#s.prefix)} (revision ${modRevision}) is not an edgeplane config: ${(err as Error).message}` }]);
      }
      // Keep the revision so a later write can replace it (CAS on it); nothing to apply.
      return { modRevision, record: null };
    }
  }

  async #readLkg(): Promise<LastKnownGood | undefined> {
    try {
      const lkg = await this.#lkg.read();
      if (lkg && lkg.prefix !== this.#s.prefix) {
        this.#log.warn({ file: this.#lkg.file, prefix: lkg.prefix }, 'the last-known-good config belongs to another prefix; not used');
        return undefined;
      }
      return lkg;
    } catch (err) {
      if (!(err instanceof StateCorruptError)) throw err;
      const aside = await this.#lkg.quarantine(this.#o.clock.wallNow());
      this.#log.error({ err: err.message, movedTo: aside }, 'the last-known-good config is unusable; moved aside');
      return undefined;
    }
  }

  /** One change at a time (writes, applies of watched versions, re-seeds), so versions apply in order. */
  #serialise<T>(source: ChangeSource, fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn).catch((err: unknown) => {
      if (err instanceof ControlError) controlMetrics.configChanges.labels(source, err.kind === 'invalid' ? 'rejected' : 'failed').inc();
      throw err;
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#o.clock.clearTimeout(this.#probeTimer);
    const w = this.#watcher;
    this.#watcher = null;
    if (w) await w.cancel().catch(() => {});
    await this.#queue.catch(() => {});
    await this.#leased.close();
    if (!this.#o.client) this.#client.close();
    this.#applied.clear();
  }
}

/** What each node publishes about itself under `<prefix>/nodes/<id>` (GET /v1/status, `edgeplane fleet`). */
export interface FleetNodeStatus {
  id: string;
  region: string;
  version: number;
  refused: { version: number; errors: number } | null;
  pid: number;
  /** zone -> fingerprint of the DNSKEY set the node serves (`unsigned` when it serves the zone unsigned). */
  dnssec?: Record<string, string>;
  at: string;
}

export const nodesPrefix = (prefix: string) => `${prefix}/nodes/`;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
