import { dashboardState, type DashboardSources, type DashboardState } from './dashboard-state.ts';
import type { EventStream } from './event-stream.ts';
import type { TrafficHistory, TrafficSnapshot } from './traffic-history.ts';

/** The body of GET /v1/dashboard and the first event of every stream. */
export interface DashboardBody extends DashboardState {
  generatedAt: string;
  traffic: TrafficSnapshot;
}

export interface DashboardFeedOptions {
  /** How often state is re-read for the streams; a change reaches the page within this. */
  tickMs?: number;
  /** A comment is written after this long without an event. */
  keepAliveMs?: number;
  wallNow?: () => number;
}

interface Subscriber {
  stream: EventStream;
  /** Re-checked every tick: a stream opened with a token that has since been rotated away is closed. */
  authorized: () => boolean;
  lastState: string;
  lastSeq: number;
}

/**
 * Fans the dashboard out to the open event streams. The protocol:
 *   event `dashboard`  full body (state + traffic history), first on every connection;
 *   event `state`      the state again whenever it differs from what this stream last got;
 *   event `samples`    traffic samples this stream has not had yet (an array, oldest first);
 *   event `bye`        {reason}, just before the gateway closes the stream.
 * State is read once per tick for all streams, and only while one is open.
 */
export class DashboardFeed {
  readonly #sources: DashboardSources;
  readonly #history: TrafficHistory;
  readonly #tickMs: number;
  readonly #keepAliveMs: number;
  readonly #wallNow: () => number;
  readonly #subs = new Set<Subscriber>();
  #timer: NodeJS.Timeout | null = null;

  constructor(sources: DashboardSources, history: TrafficHistory, options: DashboardFeedOptions = {}) {
    this.#sources = sources;
    this.#history = history;
    this.#tickMs = options.tickMs ?? 1000;
    this.#keepAliveMs = options.keepAliveMs ?? 15_000;
    this.#wallNow = options.wallNow ?? Date.now;
  }

  get size(): number {
    return this.#subs.size;
  }

  body(): DashboardBody {
    return { generatedAt: new Date(this.#wallNow()).toISOString(), ...dashboardState(this.#sources), traffic: this.#history.snapshot() };
  }

  subscribe(stream: EventStream, authorized: () => boolean): void {
    const { traffic, ...state } = this.body();
    const sub: Subscriber = { stream, authorized, lastState: stateJson(state), lastSeq: traffic.samples.at(-1)?.seq ?? this.#history.seq };
    stream.send('dashboard', { ...state, traffic });
    this.#subs.add(sub);
    stream.onClose(() => {
      this.#subs.delete(sub);
      if (this.#subs.size === 0) this.#stop();
    });
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#tick(), this.#tickMs);
      this.#timer.unref();
    }
  }

  /** Ends every stream (gateway shutdown); the pages reconnect to whatever answers next. */
  close(reason: string): void {
    for (const s of [...this.#subs]) {
      s.stream.send('bye', { reason });
      s.stream.close();
    }
    this.#stop();
  }

  #tick(): void {
    let state: string | null = null;
    const now = Date.now();
    for (const sub of [...this.#subs]) {
      if (!sub.authorized()) {
        sub.stream.send('bye', { reason: 'unauthorized' });
        sub.stream.close();
        continue;
      }
      state ??= stateJson(dashboardState(this.#sources));
      if (state !== sub.lastState) {
        sub.stream.sendRaw('state', state);
        sub.lastState = state;
      }
      const fresh = this.#history.since(sub.lastSeq);
      if (fresh.length > 0) {
        sub.stream.send('samples', fresh);
        sub.lastSeq = fresh[fresh.length - 1]!.seq;
      }
      if (sub.stream.idleMs(now) >= this.#keepAliveMs) sub.stream.comment('keep-alive');
    }
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

function stateJson(state: DashboardState): string {
  return JSON.stringify(state);
}
