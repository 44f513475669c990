import type { ConfigStore } from '../control/store.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { ReleaseNotFoundError } from './errors.ts';
import type { ReleaseFleet } from './fleet.ts';
import type { ReleaseStateStore } from './fleet-state.ts';
import { isActive, type ReleaseRecord } from './model.ts';
import type { WebhookNotifier } from './notifier.ts';
import type { PersistedReleases } from './persistence.ts';
import { SerialQueue } from './serial-queue.ts';
import type { HealthSource } from './target-health.ts';
import type { TrafficCounters, TrafficSource } from './traffic-stats.ts';
import { releaseView, type ReleaseView } from './view.ts';

/** What the mechanisms run against: the controller's options with their defaults applied. */
export interface ReleaseDeps {
  store: ConfigStore;
  clock: Clock;
  traffic: TrafficSource;
  health: HealthSource;
  retryDelayMs: number;
  fleet?: ReleaseFleet;
}

/** The in-memory side of a running release: its timer and the readings its window started from. */
export interface Run {
  timer: TimerHandle | undefined;
  /** Bumped on every transition: a timer set in an earlier phase does nothing. */
  gen: number;
  base: { traffic: TrafficCounters; ejections: Map<string, number>; at: number } | null;
  windowMs: number;
  /** While waiting for the target's readiness: the step to shift to once it is ready. */
  awaitingStep: number | null;
  /** A step written but its window not open yet: the config version every live node must serve first. */
  pendingWindow: { version: number; deadline: number } | null;
  readinessDeadline: number;
}

/**
 * The two steps reached against the direction of the imports (a timer set by
 * a step opens the gate loop; a failure anywhere re-drives the release). The
 * controller wires them, so no mechanism file imports one that imports it.
 */
export interface ReleaseSteps {
  evaluate(rec: ReleaseRecord): Promise<void>;
  recover(rec: ReleaseRecord): Promise<void>;
}

/**
 * The state every mechanism shares: the release records (as persisted), the
 * runs (as only this process knows them), whether this node drives, and the
 * one queue everything runs on.
 */
export class ReleaseContext {
  readonly records = new Map<string, ReleaseRecord>();
  readonly runs = new Map<string, Run>();
  readonly queue = new SerialQueue(() => this.closed);
  nextId: number;
  /** With a fleet: whether this node is the elected driver (else it only mirrors the state and forwards actions). */
  leading = false;
  closed = false;
  /** What a release that carries on says happened (a restart of this gateway, or a takeover by this node). */
  resumeCause: { after: string; headline: string } = { after: 'a gateway restart', headline: 'gateway restarted' };
  steps!: ReleaseSteps;

  constructor(
    readonly o: ReleaseDeps,
    readonly log: Logger,
    readonly state: ReleaseStateStore,
    readonly notifier: WebhookNotifier,
    value: PersistedReleases,
  ) {
    this.nextId = value.nextId;
    for (const r of value.releases) this.records.set(r.id, r);
  }

  /** True when this node acts on releases: always with the file store; in a fleet, while elected. */
  get driving(): boolean {
    return !this.o.fleet || this.leading;
  }

  /** Replaces the records with the state as stored (a takeover, or a follower's mirror). */
  load(value: PersistedReleases): void {
    this.records.clear();
    for (const r of value.releases) this.records.set(r.id, r);
    this.nextId = value.nextId;
  }

  *running(): Iterable<ReleaseRecord> {
    for (const r of this.records.values()) if (isActive(r.phase)) yield r;
  }

  find(id: string): ReleaseRecord {
    const rec = this.records.get(id);
    if (!rec) throw new ReleaseNotFoundError(id);
    return rec;
  }

  save(): Promise<void> {
    return this.state.write(this.nextId, this.records.values());
  }

  view(rec: ReleaseRecord): ReleaseView {
    let config;
    try {
      config = this.o.store.current.config;
    } catch {
      config = undefined;
    }
    return releaseView(rec, config);
  }

  iso(): string {
    return new Date(this.o.clock.wallNow()).toISOString();
  }
}
