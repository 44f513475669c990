import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import type { Logger } from '../util/logger.ts';
import { containerAddress, matchesLabels, viewOfInspect, type AddressOptions, type ContainerView } from './docker-address.ts';
import { EngineClient, EngineError, type EngineEvent } from './docker-engine.ts';
import { DiscoveryError } from './errors.ts';
import { SourceState, backoff } from './status.ts';
import type { DiscoveryListener, DiscoverySource, DiscoveryStatus } from './types.ts';

export interface DockerSourceOptions extends AddressOptions {
  cluster: string;
  /** `unix:///var/run/docker.sock`, or `http://host:port` of a socket proxy. */
  socket: string;
  /** Every one must match. */
  labels: Record<string, string>;
  /** Full list this often even while events flow (a missed event is repaired by then); default 30s. */
  resyncIntervalMs: number;
  clock: Clock;
  rng: Rng;
  logger: Logger;
}

/** Events after which the container is inspected again; everything else about it is ignored. */
const REFRESH = new Set(['start', 'restart', 'unpause', 'health_status']);
/** Events after which the container no longer serves. */
const GONE = new Set(['die', 'died', 'stop', 'kill', 'pause', 'destroy', 'remove', 'oom']);

/**
 * Docker / Podman discovery: the running containers carrying the configured
 * labels, at their host, network or published address (docker-address.ts).
 *
 * Like Traefik's Docker provider it opens the /events stream first and lists
 * after, so nothing that happens between the two is missed; each event
 * updates one container (inspected again on start and health changes), and a
 * full list every `resyncInterval` repairs anything an event could not say.
 * When the daemon goes away the last set stays in force and the source
 * reports itself down; when it is back, a new list replaces the set.
 */
export class DockerSource implements DiscoverySource {
  readonly kind = 'docker' as const;
  readonly #o: DockerSourceOptions;
  readonly #state: SourceState;
  readonly #client: EngineClient;
  #containers = new Map<string, ContainerView>();
  #controller: AbortController | undefined;
  #sleepTimer: TimerHandle | undefined;
  #resyncTimer: TimerHandle | undefined;
  #wake: (() => void) | undefined;
  #stopped = true;
  /** Full lists done (tests read it to see a resync). */
  lists = 0;

  constructor(options: DockerSourceOptions) {
    this.#o = options;
    this.#client = new EngineClient(options.socket);
    this.#state = new SourceState(options.cluster, 'docker', options.clock, options.logger);
  }

  start(listener: DiscoveryListener): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#state.attach(listener);
    void this.#loop();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#controller?.abort();
    this.#o.clock.clearTimeout(this.#sleepTimer);
    this.#o.clock.clearTimeout(this.#resyncTimer);
    this.#wake?.();
    this.#state.attach(undefined);
    this.#state.dispose();
  }

  status(): DiscoveryStatus {
    return this.#state.status();
  }

  /** The containers behind the current set (the deploy view and the dashboard show them). */
  containers(): ContainerView[] {
    return [...this.#containers.values()];
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      const controller = new AbortController();
      this.#controller = controller;
      try {
        // Events first, then the list: an event racing the list is applied after it, and is idempotent.
        let opened!: () => void;
        const open = new Promise<void>((r) => (opened = r));
        const stream = this.#client.events(this.#o.labels, (ev) => this.#onEvent(ev), { signal: controller.signal, onOpen: () => opened() });
        // Whatever path this attempt leaves by, the stream's own end must not go unhandled.
        stream.catch(() => {});
        await Promise.race([open, stream]);
        await this.#list();
        failures = 0;
        this.#scheduleResync();
        await stream;
        // The daemon (or a proxy) ended the stream: reconnect and list again; only a failing reconnect marks the source down.
        this.#o.clock.clearTimeout(this.#resyncTimer);
        await this.#sleep(100);
      } catch (err) {
        controller.abort();
        this.#o.clock.clearTimeout(this.#resyncTimer);
        if (this.#stopped) return;
        this.#state.failed(err instanceof DiscoveryError ? err : new DiscoveryError('EP_DISCOVERY_DOCKER', err instanceof EngineError ? err.message : `${this.#client.endpoint.display}: ${(err as Error).message}`));
        await this.#sleep(backoff(failures++, 250, 10_000, this.#o.rng.next()));
      }
    }
  }

  async #list(): Promise<void> {
    const list = await this.#client.listContainers(this.#o.labels);
    const next = new Map<string, ContainerView>();
    await Promise.all(
      list
        .filter((c) => matchesLabels(c.Labels ?? undefined, this.#o.labels))
        .map(async (c) => {
          const inspected = await this.#client.inspectContainer(c.Id);
          if (inspected) next.set(inspected.Id, viewOfInspect(inspected));
        }),
    );
    this.lists++;
    if (this.#stopped) return;
    this.#containers = next;
    this.#publish();
  }

  #scheduleResync(): void {
    this.#o.clock.clearTimeout(this.#resyncTimer);
    this.#resyncTimer = this.#o.clock.setTimeout(() => {
      if (this.#stopped) return;
      this.#list().then(
        () => this.#scheduleResync(),
        // The stream's own failure handling reconnects; a failed resync alone ends the stream so that it does.
        (err) => {
          this.#o.logger.debug({ event: 'docker_resync_failed', cluster: this.#o.cluster, err: (err as Error).message }, 'resync failed; reconnecting');
          this.#controller?.abort();
        },
      );
    }, this.#o.resyncIntervalMs);
  }

  #onEvent(ev: EngineEvent): void {
    if (this.#stopped || ev.Type !== 'container') return;
    const id = ev.Actor?.ID ?? ev.id;
    if (!id || !matchesLabels(ev.Actor?.Attributes, this.#o.labels)) return;
    // Docker says "health_status: healthy", "exec_start: ..."; the verb is what comes before the colon.
    const action = (ev.Action ?? ev.status ?? '').split(':')[0]!.trim();
    if (GONE.has(action)) {
      if (this.#containers.delete(id)) this.#publish();
      return;
    }
    if (!REFRESH.has(action)) return;
    void this.#client.inspectContainer(id).then(
      (c) => {
        if (this.#stopped) return;
        if (c && matchesLabels(c.Config?.Labels ?? undefined, this.#o.labels)) this.#containers.set(c.Id, viewOfInspect(c));
        else this.#containers.delete(id);
        this.#publish();
      },
      (err) => this.#o.logger.debug({ event: 'docker_inspect_failed', cluster: this.#o.cluster, container: id.slice(0, 12), err: (err as Error).message }, 'inspect failed; the next resync repairs it'),
    );
  }

  #publish(): void {
    const addresses: string[] = [];
    for (const c of this.#containers.values()) {
      const a = containerAddress(c, this.#o);
      if ('address' in a) addresses.push(a.address);
    }
    this.#state.succeeded(addresses);
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#sleepTimer = this.#o.clock.setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
    });
  }
}
