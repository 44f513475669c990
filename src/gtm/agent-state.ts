import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import type { Logger } from '../util/logger.ts';
import { Awareness } from './awareness.ts';
import { ChangeEvents } from './change-events.ts';
import type { ProtocolConfig } from './config.ts';
import type { Envelope } from './envelope.ts';
import { GossipAuthError, GossipDecodeError } from './errors.ts';
import { HealthStore } from './health-store.ts';
import type { Keyring } from './keyring.ts';
import { MemberTable } from './members.ts';
import { newStats, type GossipStats } from './metrics.ts';
import { GossipReplayError } from './replay-window.ts';
import type { Transport } from './transport.ts';

export interface AgentStateInit {
  name: string;
  region: string;
  config: Readonly<ProtocolConfig>;
  clock: Clock;
  rng: Rng;
  log: Logger;
  envelope: Envelope;
  keyring: Keyring | undefined;
  transport: Transport | undefined;
}

/**
 * What every mechanism of one gossip member shares (memberlist keeps the same
 * things on its Memberlist struct): identity, protocol constants, the injected
 * clock and randomness, the member and health tables, the own incarnation,
 * Lifeguard's awareness score, counters, the lifecycle flags, and the few
 * helpers all of them use (timers that close() cancels, sealed datagram send,
 * input-error accounting). The mechanisms (probe, suspicion timers, member
 * state transitions, broadcasts, push-pull, health records) each hold this
 * object and talk to each other through small interfaces, never through the
 * agent class.
 */
export class AgentState {
  readonly name: string;
  readonly region: string;
  readonly config: Readonly<ProtocolConfig>;
  /** config.Lifeguard, read on every probe. */
  readonly lifeguard: boolean;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly log: Logger;
  readonly stats: GossipStats = newStats();
  readonly envelope: Envelope;
  readonly keyring: Keyring | undefined;
  readonly table: MemberTable;
  readonly health = new HealthStore();
  readonly awareness: Awareness;
  readonly events: ChangeEvents;
  transport: Transport | undefined;
  /** The address other members reach this one at; set on start. */
  address = '';
  started = false;
  closed = false;
  leaving = false;
  #incarnation = 0;
  readonly #timers = new Set<TimerHandle>();
  readonly #warned = new Set<string>();

  constructor(init: AgentStateInit) {
    this.name = init.name;
    this.region = init.region;
    this.config = init.config;
    this.lifeguard = init.config.Lifeguard;
    this.clock = init.clock;
    this.rng = init.rng;
    this.log = init.log;
    this.envelope = init.envelope;
    this.keyring = init.keyring;
    this.transport = init.transport;
    this.table = new MemberTable(init.rng);
    this.awareness = new Awareness(init.config.AwarenessMaxMultiplier);
    this.events = new ChangeEvents(init.name, init.clock, this.health, init.log);
  }

  // ------------------------------------------------------------- incarnation

  /** memberlist nextIncarnation. */
  nextIncarnation(): number {
    return ++this.#incarnation;
  }

  /** The next incarnation, raised above `accused` when that is already taken (memberlist refute). */
  incarnationAbove(accused: number): number {
    let inc = this.nextIncarnation();
    if (accused >= inc) {
      this.#incarnation = accused + 1;
      inc = this.#incarnation;
    }
    return inc;
  }

  // ------------------------------------------------------------------ timers

  /** A one-shot timer that close() cancels. */
  setTimer(fn: () => void, ms: number): TimerHandle {
    const t: TimerHandle = this.clock.setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
    return t;
  }

  clearTimer(t: TimerHandle | undefined): void {
    if (t === undefined) return;
    this.#timers.delete(t);
    this.clock.clearTimeout(t);
  }

  clearTimers(): void {
    for (const t of this.#timers) this.clock.clearTimeout(t);
    this.#timers.clear();
  }

  // -------------------------------------------------------------------- wire

  /** Seals and sends one datagram as it is (no piggybacking). */
  sendRaw(addr: string, payload: Uint8Array): void {
    if (this.closed || !this.transport) return;
    let packet: Uint8Array;
    try {
      packet = this.envelope.seal(payload);
    } catch (err) {
      this.stats.sendErrors++;
      this.log.error({ err }, 'cannot seal gossip packet');
      return;
    }
    this.stats.packetsSent++;
    this.stats.bytesSent += packet.length;
    this.transport.sendPacket(addr, packet);
  }

  /** Counts why a packet, stream or stream head from outside was refused. */
  countInputError(e: unknown): void {
    if (e instanceof GossipReplayError) {
      if (e.reason === 'replayed') this.stats.droppedReplayed++;
      else {
        this.stats.droppedSkew++;
        this.warnOnce('clock-skew', { err: e.message }, 'dropped gossip stamped outside gossip.maxClockSkew: check the clocks (NTP) of this gateway and its peers (logged once)');
      }
    } else if (e instanceof GossipAuthError) this.stats.droppedAuth++;
    else if (e instanceof GossipDecodeError) this.stats.droppedMalformed++;
    else {
      this.stats.handlerErrors++;
      this.log.error({ err: e }, 'unexpected error decoding gossip input');
    }
  }

  // ----------------------------------------------------------------- logging

  /** Runs a handler; a throw is counted and logged instead of escaping into a timer or transport callback. */
  safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.stats.handlerErrors++;
      this.log.error({ err }, 'gossip handler failed');
    }
  }

  warnOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    if (this.#warned.has(key)) return;
    if (this.#warned.size > 1000) this.#warned.clear();
    this.#warned.add(key);
    this.log.warn(fields, msg);
  }
}
