import type { Config, UnitConfig } from '../config/schema/index.ts';
import type { DurableDocument, StateDir } from '../control/persistence.ts';
import type { AdminIssue } from '../admin/errors.ts';
import type { HealthReport } from '../health/types.ts';
import { parseStartRequest } from '../release/options.ts';
import { targetHealth } from '../release/target-health.ts';
import type { ReleaseView } from '../release/view.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { parseDuration } from '../util/duration.ts';
import { EngineClient, EngineError } from '../discovery/docker-engine.ts';
import { colorLabels, containerBody, containerName } from './container-spec.ts';
import { DeployConflictError, DeployNotFoundError, DeployRejectedError, DeployRuntimeUnavailableError } from './errors.ts';
import { RELEASE_LABEL } from './labels.ts';
import { isActiveDeploy, KEEP_FINISHED_DEPLOYS, parseDeploys, type ColorRef, type DeployOutcome, type DeployPhase, type DeployRecord, type PersistedDeploys } from './model.ts';
import { UnitRuntime, type ContainerInfo } from './runtime.ts';

export interface ColorContainers extends ColorRef {
  weight: number | null;
  containers: ContainerInfo[];
  error: string | null;
}
import { deployView, type DeployView } from './view.ts';
import { resolveUnit } from './options.ts';

/** What the orchestrator needs of the release controller: start a release and read it back. */
export interface ReleaseStarter {
  start(body: unknown, author: string): Promise<ReleaseView>;
  get(id: string): ReleaseView;
  list(): ReleaseView[];
  abort(id: string, author: string): Promise<ReleaseView>;
}

export interface DeployOrchestratorOptions {
  config: () => Config;
  releases: ReleaseStarter;
  health: () => HealthReport;
  stateDir: StateDir;
  clock: Clock;
  logger: Logger;
  /** How often readiness and the release are looked at; default 250ms. */
  pollMs?: number;
  /** Before retrying a step the daemon failed; default 2s. */
  retryDelayMs?: number;
}

const KEYS = ['kind', 'unit', 'image', 'strategy', 'window', 'steps', 'interval', 'gates', 'readinessTimeout', 'webhook'];

/**
 * Runs deploys (release kind `deploy`): creates and starts the idle color's
 * containers from the unit's template with the new image, waits for them to
 * be ready (container health through discovery, and the cluster's health
 * check) until a deadline, hands the route over to the release controller
 * (gates, window, automatic rollback) and, by its outcome, removes the old
 * color (after a drain) or the new one. Containers carry the deploy's id as a
 * label, so a restarted gateway finds exactly what it made.
 */
export class DeployOrchestrator {
  readonly #o: Required<DeployOrchestratorOptions>;
  readonly #log: Logger;
  readonly #doc: DurableDocument<PersistedDeploys>;
  readonly #records = new Map<string, DeployRecord>();
  readonly #runtimes = new Map<string, UnitRuntime>();
  readonly #driving = new Set<string>();
  readonly #timers = new Set<TimerHandle>();
  #nextId: number;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(o: DeployOrchestratorOptions, doc: DurableDocument<PersistedDeploys>, value: PersistedDeploys) {
    this.#o = { pollMs: 250, retryDelayMs: 2000, ...o };
    this.#log = o.logger.child({ component: 'deploy' });
    this.#doc = doc;
    this.#nextId = value.nextId;
    for (const d of value.deploys) this.#records.set(d.id, d);
  }

  /** Loads the stored deploys and carries on with the running ones (see `#resume`). */
  static async open(o: DeployOrchestratorOptions): Promise<DeployOrchestrator> {
    const doc = o.stateDir.document('deploys', parseDeploys);
    const value = (await doc.read()) ?? { format: 1 as const, nextId: 1, deploys: [] };
    const d = new DeployOrchestrator(o, doc, value);
    for (const rec of d.#records.values()) if (isActiveDeploy(rec.phase)) void d.#resume(rec);
    void d.#sweep();
    return d;
  }

  owns(id: string): boolean {
    return id.startsWith('dep-');
  }

  /** POST /v1/releases {kind: deploy, unit, image, ...}: checks everything, makes sure the image is there, starts the new color's containers. */
  start(body: unknown, author: string): Promise<DeployView> {
    return this.#enqueue(async () => {
      const config = this.#o.config();
      const { unit, image, releaseBody, strategy } = this.#parse(body, config);
      const existing = [...this.#records.values()].find((r) => r.unit === unit.name && isActiveDeploy(r.phase));
      if (existing) throw new DeployConflictError(`unit "${unit.name}" already has a deploy in progress: ${existing.id} (${existing.phase})`);
      const route = config.routes.find((r) => r.name === unit.route)!;
      const weightOf = (cluster: string) => route.split.find((e) => e.cluster === cluster)?.weight ?? 0;
      const [a, b] = unit.colors as [UnitConfig['colors'][number], UnitConfig['colors'][number]];
      // The serving color is the one with more weight; the deploy starts the other.
      const fromCfg = weightOf(a.cluster) >= weightOf(b.cluster) ? a : b;
      const toCfg = fromCfg === a ? b : a;
      if (weightOf(toCfg.cluster) > 0) {
        throw new DeployConflictError(`color "${toCfg.name}" (cluster ${toCfg.cluster}) still takes ${weightOf(toCfg.cluster)}% of route "${route.name}": finish or abort that release first`);
      }
      const from: ColorRef = { color: fromCfg.name, cluster: fromCfg.cluster };
      const to: ColorRef = { color: toCfg.name, cluster: toCfg.cluster };
      // The release is checked now, against the split as it will be: a bad window fails here, before any container runs.
      releaseBody.to = to.cluster;
      parseStartRequest(releaseBody, config);

      const runtime = this.#runtime(unit);
      // A missing image fails the deploy before anything changes.
      try {
        await runtime.ensureImage(image);
      } catch (err) {
        if (err instanceof EngineError && (err.code === 'EP_ENGINE_CONNECT' || err.code === 'EP_ENGINE_TIMEOUT')) {
          throw new DeployRuntimeUnavailableError(`the container daemon of unit "${unit.name}" does not answer: ${err.message}`);
        }
        throw new DeployRejectedError([{ path: 'image', message: (err as Error).message }]);
      }

      const now = this.#o.clock.wallNow();
      const id = `dep-${this.#nextId++}`;
      const override = (body as Record<string, unknown>).readinessTimeout;
      const readinessMs = typeof override === 'string' ? parseDuration(override) : resolveUnit(unit).readinessTimeoutMs;
      const rec: DeployRecord = {
        id,
        unit: unit.name,
        route: route.name,
        image,
        strategy,
        from,
        to,
        replicas: resolveUnit(unit).replicas,
        releaseBody,
        phase: 'starting',
        reason: `started by ${author}: starting ${resolveUnit(unit).replicas} container(s) of ${to.color} from ${image}`,
        outcome: null,
        releaseId: null,
        containers: [],
        author,
        createdAt: new Date(now).toISOString(),
        updatedAt: new Date(now).toISOString(),
        readyBy: now + readinessMs,
        timings: {},
        history: [],
      };
      rec.history.push({ at: rec.createdAt, phase: 'starting', reason: rec.reason });
      this.#records.set(id, rec);
      await this.#save();
      this.#log.info({ event: 'deploy_started', deploy: id, unit: unit.name, image, from: from.color, to: to.color }, `deploy ${id}: ${unit.name} ${from.color} -> ${to.color} (${image})`);
      void this.#drive(rec);
      return this.view(id);
    });
  }

  view(id: string): DeployView {
    const rec = this.#records.get(id);
    if (!rec) throw new DeployNotFoundError(id);
    let release: ReleaseView | null = null;
    if (rec.releaseId) {
      try {
        release = this.#o.releases.get(rec.releaseId);
      } catch {
        release = null;
      }
    }
    return deployView(rec, release, this.#o.clock.wallNow());
  }

  /** The deploy with the containers of both colors as the daemon has them now (GET /v1/releases/dep-N, the dashboard). */
  async get(id: string): Promise<DeployView & { colors: ColorContainers[] }> {
    const view = this.view(id);
    const rec = this.#records.get(id)!;
    let unit: UnitConfig;
    try {
      unit = this.#unit(rec);
    } catch (err) {
      return { ...view, colors: [rec.from, rec.to].map((c) => ({ ...c, weight: null, containers: [], error: (err as Error).message })) };
    }
    const runtime = this.#runtime(unit);
    const colors = await Promise.all(
      [rec.from, rec.to].map(async (c): Promise<ColorContainers> => {
        const weight = this.#weight(rec.route, c.cluster);
        try {
          return { ...c, weight, containers: await runtime.describe(colorLabels(unit, c.color)), error: null };
        } catch (err) {
          return { ...c, weight, containers: [], error: (err as Error).message };
        }
      }),
    );
    return { ...view, colors };
  }

  list(): DeployView[] {
    return [...this.#records.values()].reverse().map((r) => this.view(r.id));
  }

  /** Ends the deploy: before the release, removes the new containers; during it, aborts the release (which rolls back, then the containers go). */
  abort(id: string, author: string): Promise<DeployView> {
    return this.#enqueue(async () => {
      const rec = this.#records.get(id);
      if (!rec) throw new DeployNotFoundError(id);
      if (rec.phase === 'starting' || rec.phase === 'readying') {
        await this.#enter(rec, 'cleaning', `aborted by ${author} before any traffic moved: removing the new containers`, 'aborted');
      } else if (rec.phase === 'releasing' && rec.releaseId) {
        await this.#o.releases.abort(rec.releaseId, author);
      } else {
        throw new DeployConflictError(`cannot abort deploy ${id}: it is ${rec.phase}`);
      }
      return this.view(id);
    });
  }

  /** Resolves when no deploy is being driven (tests). */
  async idle(): Promise<void> {
    while (this.#driving.size > 0) await new Promise((r) => setTimeout(r, 20));
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers) this.#o.clock.clearTimeout(t);
    this.#timers.clear();
  }

  // ---- request -----------------------------------------------------------

  #parse(body: unknown, config: Config): { unit: UnitConfig; image: string; releaseBody: Record<string, unknown>; strategy: 'blue-green' | 'canary' } {
    const issues: AdminIssue[] = [];
    const bad = (path: string, message: string) => void issues.push({ path, message });
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new DeployRejectedError([{ path: '', message: 'the body must be a JSON object with "unit" and "image"' }]);
    const b = body as Record<string, unknown>;
    for (const k of Object.keys(b)) if (!KEYS.includes(k)) bad(k, `unknown key "${k}"`);
    const unit = typeof b.unit === 'string' ? (config.units ?? []).find((u) => u.name === b.unit) : undefined;
    if (typeof b.unit !== 'string' || !b.unit) bad('unit', 'required: the name of the unit to deploy');
    else if (!unit) bad('unit', `no unit named "${b.unit}"${config.units?.length ? ` (units: ${config.units.map((u) => u.name).join(', ')})` : ' (the config has no units section)'}`);
    if (typeof b.image !== 'string' || !/^[^\s]+$/.test(b.image)) bad('image', 'required: the image to deploy, e.g. registry.local/api:v2');
    const strategy = (b.strategy ?? 'blue-green') as 'blue-green' | 'canary';
    if (strategy !== 'blue-green' && strategy !== 'canary') bad('strategy', 'must be "blue-green" or "canary"');
    if (b.window !== undefined && typeof b.window !== 'string') bad('window', 'must be a duration such as 3m');
    if (b.readinessTimeout !== undefined) {
      try {
        parseDuration(String(b.readinessTimeout));
      } catch (err) {
        bad('readinessTimeout', (err as Error).message);
      }
    }
    if (issues.length || !unit) throw new DeployRejectedError(issues);
    const releaseBody: Record<string, unknown> = { route: unit.route, to: '', strategy };
    // The window is blue-green's observation at 100%, or each canary step's hold.
    if (b.window !== undefined) releaseBody[strategy === 'canary' ? 'stepDuration' : 'observe'] = b.window;
    for (const k of ['steps', 'interval', 'gates', 'webhook']) if (b[k] !== undefined) releaseBody[k] = b[k];
    // Readiness is the deploy's business; the release only re-checks it.
    releaseBody.readinessTimeout = '30s';
    return { unit, image: b.image as string, releaseBody, strategy };
  }

  // ---- the run -----------------------------------------------------------

  /** Moves the deploy on from its stored phase until it finishes; a failing daemon call is retried from the same phase. */
  async #drive(rec: DeployRecord): Promise<void> {
    if (this.#driving.has(rec.id)) return;
    this.#driving.add(rec.id);
    try {
      while (!this.#closed && isActiveDeploy(rec.phase)) {
        try {
          switch (rec.phase) {
            case 'starting':
              await this.#startContainers(rec);
              break;
            case 'readying':
              await this.#awaitReady(rec);
              break;
            case 'releasing':
              await this.#awaitRelease(rec);
              break;
            case 'retiring':
              await this.#retire(rec);
              break;
            case 'cleaning':
              await this.#clean(rec);
              break;
          }
        } catch (err) {
          if (this.#closed) return;
          const message = (err as Error).message;
          this.#log.error({ event: 'deploy_step_failed', deploy: rec.id, phase: rec.phase, err: message }, `deploy ${rec.id}: ${rec.phase} failed`);
          if (rec.phase === 'starting' || rec.phase === 'readying') {
            await this.#enter(rec, 'cleaning', `${rec.phase === 'starting' ? 'cannot start the new containers' : 'readiness'}: ${message}; removing the new containers`, 'failed').catch(() => {});
          } else {
            rec.reason = `${rec.reason.split(' [retrying')[0]} [retrying: ${message}]`;
            await this.#sleep(this.#o.retryDelayMs);
          }
        }
      }
    } finally {
      this.#driving.delete(rec.id);
    }
  }

  async #startContainers(rec: DeployRecord): Promise<void> {
    const unit = this.#unit(rec);
    const runtime = this.#runtime(unit);
    // Leftovers of the idle color (an earlier deploy's, or hand-made) would be counted as the new version: they go first.
    await runtime.removeAll(colorLabels(unit, rec.to.color));
    for (let i = 0; i < rec.replicas; i++) {
      const name = containerName(unit, rec.to.color, rec.id, i);
      const id = await runtime.run(name, containerBody(unit, rec.to.color, rec.image, i, rec.id));
      rec.containers.push({ id, name });
    }
    this.#mark(rec, 'containersStarted');
    await this.#enter(rec, 'readying', `${rec.replicas} container(s) of ${rec.to.color} started from ${rec.image}; waiting for cluster ${rec.to.cluster} to be ready (until ${new Date(rec.readyBy).toISOString()})`);
  }

  async #awaitReady(rec: DeployRecord): Promise<void> {
    const runtime = this.#runtime(this.#unit(rec));
    for (;;) {
      if (this.#closed || rec.phase !== 'readying') return;
      for (const c of rec.containers) {
        const state = await runtime.state(c.id);
        if (!state.running) throw new Error(`container ${c.name} ${state.detail}`);
      }
      const th = targetHealth(this.#o.health(), rec.to.cluster);
      if (th.ready && th.healthy >= rec.replicas) break;
      if (this.#o.clock.wallNow() >= rec.readyBy) throw new Error(`cluster ${rec.to.cluster} was not ready in time (${th.detail}); no traffic was shifted`);
      rec.reason = `waiting for cluster ${rec.to.cluster} to be ready: ${th.detail}`;
      await this.#sleep(this.#o.pollMs);
    }
    this.#mark(rec, 'ready');
    await this.#enqueue(async () => {
      if (rec.phase !== 'readying') return;
      let release: ReleaseView;
      try {
        release = await this.#o.releases.start(rec.releaseBody, `${rec.author} (deploy ${rec.id})`);
      } catch (err) {
        const issues = (err as { issues?: AdminIssue[] }).issues;
        throw new Error(`the release could not start: ${issues ? issues.map((i) => `${i.path ? `${i.path}: ` : ''}${i.message}`).join('; ') : (err as Error).message}`);
      }
      rec.releaseId = release.id;
      await this.#enter(rec, 'releasing', `cluster ${rec.to.cluster} is ready: release ${release.id} moves route ${rec.route} to it (${rec.strategy})`);
    });
  }

  async #awaitRelease(rec: DeployRecord): Promise<void> {
    for (;;) {
      if (this.#closed || rec.phase !== 'releasing') return;
      let r: ReleaseView;
      try {
        r = this.#o.releases.get(rec.releaseId!);
      } catch {
        // The controller no longer keeps it (its history was trimmed while this gateway was down): the split says how it ended.
        const share = this.#weight(rec.route, rec.to.cluster);
        if (share === 100) return this.#enter(rec, 'retiring', `release ${rec.releaseId} is no longer kept, and ${rec.to.color} takes all of route ${rec.route}: retiring ${rec.from.color}`);
        if (share === 0) return this.#enter(rec, 'cleaning', `release ${rec.releaseId} is no longer kept, and ${rec.to.color} takes none of route ${rec.route}: removing the new containers`, 'rolled_back');
        throw new Error(`release ${rec.releaseId} is no longer kept and ${rec.to.color} has ${share}% of route ${rec.route}`);
      }
      if (r.weights?.some((w) => w.cluster === rec.to.cluster && w.weight === 100) && rec.timings.full === undefined) this.#mark(rec, 'full');
      switch (r.phase) {
        case 'succeeded': {
          const unit = this.#unit(rec);
          return this.#enter(rec, 'retiring', `release ${r.id} succeeded: ${rec.to.color} takes all of route ${rec.route}; ${rec.from.color} drains for ${resolveUnit(unit).drain}, then its containers are stopped and removed`);
        }
        case 'rolled_back':
        case 'aborted':
          return this.#enter(rec, 'cleaning', `release ${r.id} ${r.phase.replace('_', ' ')}: ${r.reason}; removing the new containers`, r.phase);
        case 'failed': {
          const share = this.#weight(rec.route, rec.to.cluster);
          if (share > 0) return this.#finish(rec, 'failed', `release ${r.id} failed with ${share}% of the route on ${rec.to.color}: its containers are kept (${r.reason})`);
          return this.#enter(rec, 'cleaning', `release ${r.id} failed: ${r.reason}; removing the new containers`, 'failed');
        }
        default:
          rec.reason = `release ${r.id} ${r.phase}: ${r.reason}`;
      }
      await this.#sleep(this.#o.pollMs);
    }
  }

  /** After success: the old color, at weight 0, finishes its requests, then its containers are stopped and removed. */
  async #retire(rec: DeployRecord): Promise<void> {
    const unit = this.#unit(rec);
    const { drainMs, stopTimeoutMs } = resolveUnit(unit);
    const since = this.#o.clock.wallNow() - Date.parse(rec.updatedAt);
    if (since < drainMs) await this.#sleep(drainMs - since);
    if (this.#closed) return;
    const removed = await this.#runtime(unit).removeAll(colorLabels(unit, rec.from.color), stopTimeoutMs);
    this.#mark(rec, 'oldRemoved');
    await this.#finish(rec, 'succeeded', `${rec.to.color} (${rec.image}) serves all of route ${rec.route}; ${removed} container(s) of ${rec.from.color} stopped and removed`);
  }

  /** After failure or abort: every container this deploy made goes (found by its label, so a crash mid-create leaves none). */
  async #clean(rec: DeployRecord): Promise<void> {
    const unit = this.#unit(rec);
    const removed = await this.#runtime(unit).removeAll({ ...colorLabels(unit, rec.to.color), [RELEASE_LABEL]: rec.id });
    const outcome = rec.outcome ?? 'failed';
    await this.#finish(rec, outcome, `${rec.reason.replace(/; removing the new containers$/, '')}; ${removed} new container(s) removed, route ${rec.route} unchanged on ${rec.from.color}`);
  }

  /**
   * After a restart: a deploy whose release was running follows that release
   * (the controller resumed it); one still starting or readying is rolled
   * back (its containers removed: no traffic had moved) unless its release
   * had started just before the crash; retiring and cleaning carry on.
   */
  async #resume(rec: DeployRecord): Promise<void> {
    this.#log.info({ event: 'deploy_resumed', deploy: rec.id, phase: rec.phase }, `deploy ${rec.id} found after restart (${rec.phase})`);
    if (rec.phase === 'starting' || rec.phase === 'readying') {
      const adopted = this.#o.releases.list().find((r) => r.route === rec.route && r.target === rec.to.cluster && r.author.includes(`deploy ${rec.id}`));
      if (adopted) {
        rec.releaseId = adopted.id;
        await this.#enter(rec, 'releasing', `gateway restarted after release ${adopted.id} started: following it`);
      } else {
        await this.#enter(rec, 'cleaning', 'gateway restarted before the new color was ready: no traffic had moved; removing the new containers', 'failed');
      }
    }
    void this.#drive(rec);
  }

  /**
   * Containers a deploy made (they carry its id) on a color that takes no
   * traffic, whose deploy is not running: left by a deploy this gateway no
   * longer knows (a lost state dir, a deploy dropped from the kept history
   * while its cleanup failed). They are removed so that two running colors
   * are always accounted for. Containers without the label (made by hand)
   * are never touched.
   */
  async #sweep(): Promise<void> {
    for (const unit of this.#o.config().units ?? []) {
      try {
        const runtime = this.#runtime(unit);
        for (const c of unit.colors) {
          if (this.#weight(unit.route, c.cluster) > 0) continue;
          const found = await runtime.describe(colorLabels(unit, c.name));
          const orphans = found.filter((k) => k.release !== null && !(this.#records.get(k.release) && isActiveDeploy(this.#records.get(k.release)!.phase)));
          for (const release of new Set(orphans.map((k) => k.release!))) {
            const n = await runtime.removeAll({ ...colorLabels(unit, c.name), [RELEASE_LABEL]: release });
            this.#log.warn({ event: 'deploy_orphans_removed', unit: unit.name, color: c.name, release, containers: n }, `removed ${n} container(s) of ${unit.name}/${c.name} left by ${release}, which is not running`);
          }
        }
      } catch (err) {
        this.#log.warn({ event: 'deploy_sweep_failed', unit: unit.name, err: (err as Error).message }, 'cannot look for orphan containers; next restart tries again');
      }
    }
  }

  // ---- mechanics ---------------------------------------------------------

  async #enter(rec: DeployRecord, phase: DeployPhase, reason: string, outcome?: DeployOutcome): Promise<void> {
    rec.phase = phase;
    rec.reason = reason;
    if (outcome) rec.outcome = outcome;
    rec.updatedAt = new Date(this.#o.clock.wallNow()).toISOString();
    rec.history.push({ at: rec.updatedAt, phase, reason });
    const level = phase === 'cleaning' || phase === 'failed' ? 'warn' : 'info';
    this.#log[level]({ event: 'deploy_transition', deploy: rec.id, unit: rec.unit, phase, reason }, `deploy ${rec.id}: ${phase}`);
    await this.#save();
  }

  async #finish(rec: DeployRecord, outcome: DeployOutcome, reason: string): Promise<void> {
    this.#mark(rec, 'done');
    await this.#enter(rec, outcome, reason);
  }

  #mark(rec: DeployRecord, step: string): void {
    rec.timings[step] = this.#o.clock.wallNow() - Date.parse(rec.createdAt);
  }

  #weight(route: string, cluster: string): number {
    return this.#o.config().routes.find((r) => r.name === route)?.split.find((e) => e.cluster === cluster)?.weight ?? 0;
  }

  #unit(rec: DeployRecord): UnitConfig {
    const u = (this.#o.config().units ?? []).find((x) => x.name === rec.unit);
    if (!u) throw new Error(`unit "${rec.unit}" is no longer in the config`);
    return u;
  }

  #runtime(unit: UnitConfig): UnitRuntime {
    const socket = resolveUnit(unit).socket;
    let r = this.#runtimes.get(socket);
    if (!r) {
      r = new UnitRuntime(new EngineClient(socket, { timeoutMs: 30_000 }));
      this.#runtimes.set(socket, r);
    }
    return r;
  }

  #save(): Promise<void> {
    const all = [...this.#records.values()];
    const finished = all.filter((r) => !isActiveDeploy(r.phase));
    for (const old of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED_DEPLOYS))) this.#records.delete(old.id);
    return this.#doc.write({ format: 1, nextId: this.#nextId, deploys: [...this.#records.values()] });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = this.#o.clock.setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.add(t);
    });
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#closed) throw new Error('deploy orchestrator closed');
      return fn();
    });
    this.#queue = run.catch(() => {});
    return run;
  }
}

