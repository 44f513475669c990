import type { RegionSelfHealth } from '../health/region-health.ts';
import type { AgentState } from './agent-state.ts';
import type { BroadcastSink } from './broadcasts.ts';
import { COMPOUND_HEADER_OVERHEAD, COMPOUND_PART_OVERHEAD, type HealthRecord } from './codec.ts';
import { fitHealthRecord } from './health-store.ts';

/** Taking in health records from other members (datagrams and push-pull). */
export interface HealthIntake {
  /** `rebroadcast`: it came first-hand in a datagram, so pass it on (push-pull state is not re-gossiped). */
  apply(rec: HealthRecord, rebroadcast: boolean): void;
}

/**
 * Region self-health on top of membership (what the region aggregator reads):
 * this gateway's own record, versioned from the wall clock so a restarted
 * gateway's first record wins over its previous life's, trimmed to fit one
 * datagram, broadcast in its own queue; and the records of others, kept when
 * newer, passed on and emitted as `health` events.
 */
export class HealthRecords implements HealthIntake {
  readonly #s: AgentState;
  readonly #out: BroadcastSink;
  #version = 0;
  #local: RegionSelfHealth | undefined;

  constructor(s: AgentState, out: BroadcastSink) {
    this.#s = s;
    this.#out = out;
  }

  /** Publishes this gateway's region self-health: broadcast now, and in every push-pull. */
  setLocal(h: RegionSelfHealth): void {
    this.#local = h;
    this.#publish();
  }

  apply(rec: HealthRecord, rebroadcast: boolean): void {
    const s = this.#s;
    if (rec.version > s.clock.wallNow() + 86_400_000) {
      // Versions are wall-clock based; a day ahead is forged or a broken clock.
      s.stats.droppedFuture++;
      return;
    }
    if (rec.node === s.name) {
      if (rec.version > this.#version && this.#local) {
        // A newer record about us than ours (a previous life): supersede it.
        this.#version = rec.version;
        this.#publish();
      } else s.stats.droppedStale++;
      return;
    }
    if (!s.health.apply(rec)) {
      s.stats.droppedStale++;
      return;
    }
    s.stats.healthUpdates++;
    const m = s.table.get(rec.node);
    if (m && rebroadcast) m.lastHeard = s.clock.now();
    if (rebroadcast) this.#out.queueHealth(rec);
    s.events.emit({ kind: 'health', node: rec.node, region: m?.region ?? rec.region, version: rec.version, health: rec.health });
  }

  #publish(): void {
    const s = this.#s;
    if (!this.#local) return;
    const version = Math.max(this.#version + 1, Math.floor(s.clock.wallNow()));
    this.#version = version;
    const max = s.config.UDPBufferSize - s.envelope.overhead - COMPOUND_HEADER_OVERHEAD - 2 * COMPOUND_PART_OVERHEAD - 64;
    const { record, dropped } = fitHealthRecord(s.name, s.region, version, this.#local, max);
    if (dropped > 0) s.warnOnce('health-trim', { dropped }, 'health record too large for one datagram: per-name entries dropped');
    s.health.apply(record);
    if (s.started) this.#out.queueHealth(record);
    s.events.emit({ kind: 'health', node: s.name, region: s.region, version, health: record.health });
  }
}
