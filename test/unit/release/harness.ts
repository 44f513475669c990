import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../../src/config/schema/index.ts';
import { FileConfigStore as ConfigStore } from '../../../src/control/file-store.ts';
import { StateDir } from '../../../src/control/persistence.ts';
import type { HealthReport, EndpointHealthReport, EndpointHealthState } from '../../../src/health/types.ts';
import { ReleaseController } from '../../../src/release/controller.ts';
import type { ReleaseEvent } from '../../../src/release/notifier.ts';
import type { TrafficCounters, TrafficSource } from '../../../src/release/traffic-stats.ts';
import type { ReleaseView } from '../../../src/release/view.ts';
import { ManualClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

/** Upper bounds (seconds) of the fake latency histogram; the proxy's are the same kind of list. */
const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, Infinity];

/** Route `api` sends everything to blue; green is in the split at 0, reachable with the override header. */
export function releaseConfig(mutate?: (c: Config) => void): Config {
  const c = {
    node: { id: 'gw-1', region: 'jp' },
    listeners: [],
    clusters: [
      { name: 'blue', endpoints: ['127.0.0.1:9101', '127.0.0.1:9102'] },
      { name: 'green', endpoints: ['127.0.0.1:9201'], healthCheck: { path: '/readyz', interval: '2s' } },
      { name: 'other', endpoints: ['127.0.0.1:9301'] },
    ],
    routes: [
      { name: 'api', match: { path: { prefix: '/' } }, split: [{ cluster: 'blue', weight: 100 }, { cluster: 'green', weight: 0 }], override: { header: 'x-edge-cluster' } },
      { name: 'web', match: { path: { prefix: '/web' } }, split: [{ cluster: 'blue', weight: 90 }, { cluster: 'green', weight: 10 }] },
    ],
    admin: { address: '127.0.0.1:9901', token: 'admin-secret-token' },
  } as unknown as Config;
  mutate?.(c);
  return c;
}

/** Cumulative counters per route/cluster, fed by the test instead of the proxy. */
export class FakeTraffic implements TrafficSource {
  readonly #counters = new Map<string, TrafficCounters>();

  serve(route: string, cluster: string, n: number, o: { errors?: number; latencyMs?: number } = {}): void {
    const c = this.#get(route, cluster);
    c.requests += n;
    c.errors += o.errors ?? 0;
    const seconds = (o.latencyMs ?? 20) / 1000;
    for (const b of c.buckets) if (seconds <= b.le) b.count += n;
  }

  async read(route: string, cluster: string): Promise<TrafficCounters> {
    return structuredClone(this.#get(route, cluster));
  }

  #get(route: string, cluster: string): TrafficCounters {
    const key = `${route}\0${cluster}`;
    let c = this.#counters.get(key);
    if (!c) {
      c = { requests: 0, errors: 0, localFailures: 0, buckets: BOUNDS.map((le) => ({ le, count: 0 })) };
      this.#counters.set(key, c);
    }
    return c;
  }
}

/** The health table as the report shows it; changes notify like EndpointTable.onChange. */
export class FakeHealth {
  readonly #clusters = new Map<string, EndpointHealthReport[]>();
  readonly #listeners = new Set<(cluster: string) => void>();

  constructor(clusters: Record<string, string[]>, state: EndpointHealthState = 'healthy') {
    for (const [name, addresses] of Object.entries(clusters)) this.#clusters.set(name, addresses.map((a) => endpoint(a, state)));
  }

  set(cluster: string, state: EndpointHealthState, o: { address?: string; ejectionsDelta?: number } = {}): void {
    for (const e of this.#clusters.get(cluster)!) {
      if (o.address && e.address !== o.address) continue;
      e.state = state;
      e.reason = state === 'healthy' ? 'active check passed: 200' : state === 'ejected' ? 'consecutive-5xx' : 'active check failed: status 503';
      e.ejections += o.ejectionsDelta ?? 0;
    }
    for (const l of this.#listeners) l(cluster);
  }

  report(): HealthReport {
    return {
      generatedAt: new Date(0).toISOString(),
      clusters: [...this.#clusters].map(([name, endpoints]) => ({ name, endpoints: structuredClone(endpoints) }) as unknown as HealthReport['clusters'][number]),
    };
  }

  onChange(listener: (cluster: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function endpoint(address: string, state: EndpointHealthState): EndpointHealthReport {
  return { address, state, reason: state === 'healthy' ? 'active check passed: 200' : 'active check pending', ejections: 0 } as EndpointHealthReport;
}

export interface Harness {
  dir: string;
  clock: ManualClock;
  store: ConfigStore;
  traffic: FakeTraffic;
  health: FakeHealth;
  events: ReleaseEvent[];
  ctl: ReleaseController;
  /** The split of route `name` in the config in force. */
  split(name?: string): { cluster: string; weight: number }[];
  /** Advances the clock in steps of `stepMs`, letting the controller finish its work after each; `each` runs before every step (send traffic). */
  advance(ms: number, each?: () => void, stepMs?: number): Promise<void>;
  /** Closes the controller and opens a new one (and a new store) on the same state directory: a restart, optionally with a new config file. */
  restart(file?: Config): Promise<void>;
  close(): void;
}

export const AUTHOR = 'tester';

export async function harness(o: { config?: Config; dir?: string; greenState?: EndpointHealthState; traffic?: FakeTraffic } = {}): Promise<Harness> {
  const dir = o.dir ?? tempDir('edgeplane-release-');
  const clock = new ManualClock();
  const traffic = o.traffic ?? new FakeTraffic();
  const health = new FakeHealth({ blue: ['127.0.0.1:9101', '127.0.0.1:9102'], green: ['127.0.0.1:9201'] });
  if (o.greenState) health.set('green', o.greenState);
  const events: ReleaseEvent[] = [];
  let config = o.config ?? releaseConfig();

  const openAll = async () => {
    const stateDir = await StateDir.open(dir);
    const store = await ConfigStore.open({ stateDir, historyLimit: 50, logger: silentLogger, clock, apply: async () => undefined });
    await store.start(config, undefined);
    const ctl = await ReleaseController.open({
      store,
      stateDir,
      clock,
      logger: silentLogger,
      traffic,
      health,
      webhook: async (_url, e) => void events.push(e),
      retryDelayMs: 1000,
    });
    await ctl.settled();
    return { store, ctl };
  };

  let { store, ctl } = await openAll();
  const h: Harness = {
    dir,
    clock,
    traffic,
    health,
    events,
    get store() {
      return store;
    },
    get ctl() {
      return ctl;
    },
    split(name = 'api') {
      return store.current.config.routes.find((r) => r.name === name)!.split;
    },
    async advance(ms, each, stepMs = 1000) {
      await ctl.settled();
      for (let done = 0; done < ms; done += stepMs) {
        each?.();
        clock.advance(Math.min(stepMs, ms - done));
        await ctl.settled();
      }
      await ctl.webhooksFlushed();
    },
    async restart(file) {
      ctl.close();
      if (file) config = file;
      ({ store, ctl } = await openAll());
    },
    close() {
      ctl.close();
    },
  };
  return h;
}

/** A body for POST /v1/releases with short windows. */
export function body(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { route: 'api', to: 'green', interval: '5s', ...extra };
}

export function phases(v: ReleaseView): string[] {
  return v.history.map((e) => e.phase);
}
