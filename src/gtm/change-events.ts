import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { RegionSelfHealth } from '../health/region-health.ts';
import type { MemberState } from './codec.ts';
import type { HealthStore } from './health-store.ts';
import type { MemberRecord } from './members.ts';

/** A read-only copy of one member's state as this agent sees it. */
export interface MemberView {
  name: string;
  addr: string;
  region: string;
  state: MemberState;
  incarnation: number;
  /** Clock ms of the last state change. */
  stateChange: number;
  /** Milliseconds since the last state change. */
  stateAge: number;
  /** Milliseconds since the last sign of life (ack, newer alive, health update); undefined when never heard. */
  lastHeardAgo: number | undefined;
  /** True for this agent's own entry. */
  self: boolean;
  health?: RegionSelfHealth | undefined;
  healthVersion?: number | undefined;
}

export type GossipEvent =
  | { kind: 'member'; member: MemberView; previous: MemberState | undefined }
  | { kind: 'health'; node: string; region: string; version: number; health: RegionSelfHealth };

/**
 * The agent's `change` events (memberlist's EventDelegate, plus health) and
 * the read-only member views they carry. A listener that throws is logged and
 * does not stop the others or the protocol.
 */
export class ChangeEvents {
  readonly #self: string;
  readonly #clock: Clock;
  readonly #health: HealthStore;
  readonly #log: Logger;
  readonly #listeners = new Set<(e: GossipEvent) => void>();

  constructor(self: string, clock: Clock, health: HealthStore, log: Logger) {
    this.#self = self;
    this.#clock = clock;
    this.#health = health;
    this.#log = log;
  }

  /** Adds a listener; returns its removal. */
  listen(listener: (e: GossipEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(e: GossipEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        this.#log.error({ err }, 'gossip change listener threw');
      }
    }
  }

  /** A member changed state; the view is only built when someone listens. */
  emitMember(m: MemberRecord, previous: MemberState | undefined): void {
    if (this.#listeners.size > 0) this.emit({ kind: 'member', member: this.view(m), previous });
  }

  view(m: MemberRecord): MemberView {
    const h = this.#health.get(m.name);
    const now = this.#clock.now();
    return {
      name: m.name,
      addr: m.addr,
      region: m.region,
      state: m.state,
      incarnation: m.incarnation,
      stateChange: m.stateChange,
      stateAge: Math.max(0, now - m.stateChange),
      lastHeardAgo: m.name === this.#self ? 0 : m.lastHeard >= 0 ? Math.max(0, now - m.lastHeard) : undefined,
      self: m.name === this.#self,
      health: h?.health,
      healthVersion: h?.version,
    };
  }
}
