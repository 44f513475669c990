import type { Clock } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import { GossipStreamError } from './errors.ts';
import type { ExchangeCallback, PacketHandler, StreamHandler, Transport } from './transport.ts';

export interface LinkConditions {
  /** Probability that one datagram is lost, 0..1. */
  loss?: number;
  /** One-way delay in ms. */
  latency?: number;
  /** Extra uniform random delay in [0, jitter) ms. */
  jitter?: number;
}

export interface TrafficStats {
  packets: number;
  bytes: number;
  streams: number;
  streamBytes: number;
}

/**
 * An in-memory network for the deterministic simulation: datagrams and stream
 * exchanges between MemoryTransports are delivered through the injected
 * (virtual) clock, with per-link loss, delay and jitter drawn from the
 * injected seeded Rng, partitions, and members whose inbound traffic is held
 * (a stalled message handler) or dropped (isolated). The protocol code above
 * the Transport interface is the production code, bytes and all.
 */
export class MemoryNetwork {
  readonly #clock: Clock;
  readonly #rng: Rng;
  #default: Required<LinkConditions>;
  readonly #links = new Map<string, Required<LinkConditions>>();
  readonly #nodes = new Map<string, MemoryTransport>();
  readonly #group = new Map<string, number>();
  readonly #isolated = new Set<string>();
  readonly #held = new Map<string, { data: Uint8Array; from: string }[]>();
  readonly #holdDelay = new Map<string, number>();
  readonly stats = new Map<string, TrafficStats>();
  readonly totals: TrafficStats = { packets: 0, bytes: 0, streams: 0, streamBytes: 0 };
  /** Datagrams dropped by loss, partition or isolation. */
  dropped = 0;
  /** The largest datagram sent so far. */
  maxPacket = 0;

  constructor(opts: { clock: Clock; rng: Rng } & LinkConditions) {
    this.#clock = opts.clock;
    this.#rng = opts.rng;
    this.#default = { loss: opts.loss ?? 0, latency: opts.latency ?? 1, jitter: opts.jitter ?? 0 };
  }

  get clock(): Clock {
    return this.#clock;
  }

  transport(address: string): MemoryTransport {
    return new MemoryTransport(this, address);
  }

  setDefault(c: LinkConditions): void {
    this.#default = { ...this.#default, ...c };
  }

  /** Conditions for datagrams from `from` to `to` (one direction). */
  setLink(from: string, to: string, c: LinkConditions): void {
    this.#links.set(`${from}>${to}`, { ...this.#default, ...c });
  }

  /** Splits the network: members in different groups cannot reach each other. Unlisted members are in group 0. */
  partition(...groups: Iterable<string>[]): void {
    this.#group.clear();
    groups.forEach((g, i) => {
      for (const a of g) this.#group.set(a, i + 1);
    });
  }

  heal(): void {
    this.#group.clear();
  }

  /** Drops everything to and from `address` (a crashed or unplugged member) until set back. */
  isolate(address: string, on = true): void {
    if (on) this.#isolated.add(address);
    else this.#isolated.delete(address);
  }

  /**
   * Stalls `address`'s inbound message processing: datagrams addressed to it
   * queue up (as in a blocked handler's socket buffer) and are handled when the
   * stall ends. With `delay`, each is instead handled `delay` ms late.
   */
  stallInbound(address: string, on = true, delay?: number): void {
    if (on) {
      if (delay !== undefined) this.#holdDelay.set(address, delay);
      else this.#held.set(address, this.#held.get(address) ?? []);
      return;
    }
    this.#holdDelay.delete(address);
    const queued = this.#held.get(address);
    this.#held.delete(address);
    const node = this.#nodes.get(address);
    if (queued && node) for (const q of queued) node.deliver(q.data, q.from);
  }

  statsFor(address: string): TrafficStats {
    let s = this.stats.get(address);
    if (!s) {
      s = { packets: 0, bytes: 0, streams: 0, streamBytes: 0 };
      this.stats.set(address, s);
    }
    return s;
  }

  resetStats(): void {
    this.stats.clear();
    this.totals.packets = this.totals.bytes = this.totals.streams = this.totals.streamBytes = 0;
    this.dropped = 0;
  }

  /** @internal */
  attach(t: MemoryTransport): void {
    this.#nodes.set(t.address, t);
  }

  /** @internal */
  detach(t: MemoryTransport): void {
    if (this.#nodes.get(t.address) === t) this.#nodes.delete(t.address);
  }

  #reachable(from: string, to: string): boolean {
    if (this.#isolated.has(from) || this.#isolated.has(to)) return false;
    if (this.#group.size === 0) return true;
    return (this.#group.get(from) ?? 0) === (this.#group.get(to) ?? 0);
  }

  #conditions(from: string, to: string): Required<LinkConditions> {
    return this.#links.size === 0 ? this.#default : this.#links.get(`${from}>${to}`) ?? this.#default;
  }

  #delay(c: Required<LinkConditions>): number {
    return c.latency + (c.jitter > 0 ? this.#rng.next() * c.jitter : 0);
  }

  /** @internal */
  send(from: string, to: string, data: Uint8Array): void {
    const s = this.statsFor(from);
    s.packets++;
    s.bytes += data.length;
    this.totals.packets++;
    this.totals.bytes += data.length;
    if (data.length > this.maxPacket) this.maxPacket = data.length;
    if (!this.#reachable(from, to)) {
      this.dropped++;
      return;
    }
    const c = this.#conditions(from, to);
    if (c.loss > 0 && this.#rng.next() < c.loss) {
      this.dropped++;
      return;
    }
    this.#clock.setTimeout(() => this.#arrive(from, to, data), this.#delay(c));
  }

  #arrive(from: string, to: string, data: Uint8Array): void {
    // Reachability is checked again on arrival: a partition or crash in flight drops the packet.
    if (!this.#reachable(from, to)) {
      this.dropped++;
      return;
    }
    const held = this.#held.get(to);
    if (held) {
      held.push({ data, from });
      return;
    }
    const extra = this.#holdDelay.get(to);
    if (extra !== undefined) {
      this.#clock.setTimeout(() => this.#nodes.get(to)?.deliver(data, from), extra);
      return;
    }
    this.#nodes.get(to)?.deliver(data, from);
  }

  /** @internal */
  exchange(from: string, to: string, request: Uint8Array, timeoutMs: number, cb: ExchangeCallback): void {
    let done = false;
    const finish = (err: Error | undefined, resp?: Uint8Array): void => {
      if (done) return;
      done = true;
      this.#clock.clearTimeout(timer);
      cb(err, resp);
    };
    const timer = this.#clock.setTimeout(() => finish(new GossipStreamError(`stream to ${to} timed out`)), timeoutMs);
    const s = this.statsFor(from);
    s.streams++;
    s.streamBytes += request.length;
    this.totals.streams++;
    this.totals.streamBytes += request.length;
    if (!this.#reachable(from, to)) return; // like a SYN into a partition: the timeout answers
    const target = this.#nodes.get(to);
    if (!target) {
      this.#clock.setTimeout(() => finish(new GossipStreamError(`connection to ${to} refused`)), this.#default.latency);
      return;
    }
    const latency = this.#default.latency;
    this.#clock.setTimeout(() => {
      if (!this.#reachable(from, to) || this.#held.has(to)) return;
      target.serve(request, from, (resp) => {
        const rs = this.statsFor(to);
        rs.streamBytes += resp.length;
        this.totals.streamBytes += resp.length;
        this.#clock.setTimeout(() => {
          if (this.#reachable(from, to)) finish(undefined, resp);
        }, latency);
      });
    }, latency);
  }
}

export class MemoryTransport implements Transport {
  readonly #net: MemoryNetwork;
  readonly address: string;
  #onPacket: PacketHandler | undefined;
  #onStream: StreamHandler | undefined;

  constructor(net: MemoryNetwork, address: string) {
    this.#net = net;
    this.address = address;
  }

  async start(onPacket: PacketHandler, onStream: StreamHandler): Promise<void> {
    this.#onPacket = onPacket;
    this.#onStream = onStream;
    this.#net.attach(this);
  }

  /** Same as start(), without a promise (the simulation builds thousands of members synchronously). */
  startSync(onPacket: PacketHandler, onStream: StreamHandler): void {
    this.#onPacket = onPacket;
    this.#onStream = onStream;
    this.#net.attach(this);
  }

  sendPacket(to: string, data: Uint8Array): void {
    if (!this.#onPacket) return;
    this.#net.send(this.address, to, data);
  }

  exchange(to: string, request: Uint8Array, timeoutMs: number, cb: ExchangeCallback): void {
    this.#net.exchange(this.address, to, request, timeoutMs, cb);
  }

  /** @internal */
  deliver(data: Uint8Array, from: string): void {
    this.#onPacket?.(data, from);
  }

  /** @internal */
  serve(request: Uint8Array, from: string, reply: (r: Uint8Array) => void): void {
    this.#onStream?.(request, from, reply);
  }

  async close(): Promise<void> {
    this.#onPacket = undefined;
    this.#onStream = undefined;
    this.#net.detach(this);
  }
}
