import { Agent, request, type Dispatcher } from 'undici';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import type { Logger } from '../util/logger.ts';
import { asEndpointSlice, sliceAddresses, type EndpointSlice } from './endpoint-slices.ts';
import { DiscoveryError } from './errors.ts';
import type { KubeCredentials } from './kube-credentials.ts';
import { SourceState, backoff } from './status.ts';
import type { DiscoveryListener, DiscoverySource, DiscoveryStatus } from './types.ts';

/** Bounds on what the API server can make us hold. */
export const MAX_LIST_BYTES = 32 * 1024 * 1024;
export const MAX_EVENT_BYTES = 8 * 1024 * 1024;
const USER_AGENT = 'edgeplane-discovery/1';

export interface KubernetesSourceOptions {
  cluster: string;
  namespace: string;
  service: string;
  port: number | string | undefined;
  /** Called at start and after failures until it succeeds (a token file may appear late). */
  credentials(): KubeCredentials;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  /** Server-side watch timeout; default a random 300-600s, as client-go spreads its re-watches. */
  watchTimeoutSeconds?: number;
  /** Items per list page; default 500. */
  pageSize?: number;
}

class GoneError extends DiscoveryError {
  constructor(message: string) {
    super('EP_DISCOVERY_K8S_GONE', message);
  }
}

interface WatchEvent {
  type: string;
  object: unknown;
}

/**
 * Kubernetes discovery: the EndpointSlices of one Service
 * (`kubernetes.io/service-name=<service>`), listed and then watched from the
 * list's resourceVersion, the way client-go's reflector does it:
 *
 * - a watch that ends (server timeout, dropped connection) is reopened from
 *   the last resourceVersion seen, so no event is lost across a disconnect;
 * - 410 Gone (the version was compacted away; as an HTTP status or an ERROR
 *   event) means the history is gone: list again, then watch;
 * - bookmarks advance the resourceVersion without changes;
 * - other failures keep the last endpoint set and retry with backoff.
 */
export class KubernetesSource implements DiscoverySource {
  readonly kind = 'kubernetes' as const;
  readonly #o: KubernetesSourceOptions;
  readonly #state: SourceState;
  #creds: KubeCredentials | undefined;
  #agent: Agent | undefined;
  #slices = new Map<string, EndpointSlice>();
  #rv: string | undefined;
  #controller: AbortController | undefined;
  #sleepTimer: TimerHandle | undefined;
  #wake: (() => void) | undefined;
  #stopped = true;
  /** Lists done (tests and the report read it to see re-lists after 410). */
  lists = 0;
  watches = 0;

  constructor(options: KubernetesSourceOptions) {
    this.#o = options;
    this.#state = new SourceState(options.cluster, 'kubernetes', options.clock, options.logger);
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
    this.#wake?.();
    void this.#agent?.close().catch(() => this.#agent?.destroy());
    this.#state.attach(undefined);
    this.#state.dispose();
  }

  status(): DiscoveryStatus {
    return this.#state.status();
  }

  get resourceVersion(): string | undefined {
    return this.#rv;
  }

  async #loop(): Promise<void> {
    let failures = 0;
    let idleWatches = 0;
    while (!this.#stopped) {
      try {
        this.#connect();
        if (this.#rv === undefined) await this.#list();
        const events = await this.#watch();
        failures = 0;
        // A watch that ends at once without events again and again (a proxy
        // cutting streams) must not spin.
        if (events === 0) await this.#sleep(backoff(idleWatches++, 500, 30_000, this.#o.rng.next()));
        else idleWatches = 0;
      } catch (err) {
        if (this.#stopped) return;
        if (err instanceof GoneError) {
          this.#o.logger.info({ event: 'k8s_relist', cluster: this.#o.cluster, reason: err.message }, 'resourceVersion expired; listing again');
          this.#rv = undefined;
          continue;
        }
        this.#state.failed(err);
        await this.#sleep(backoff(failures++, 500, 30_000, this.#o.rng.next()));
      }
    }
  }

  #connect(): void {
    if (this.#creds) return;
    const creds = this.#o.credentials();
    this.#creds = creds;
    this.#agent = new Agent({
      connections: 2,
      pipelining: 1,
      connect: {
        rejectUnauthorized: !creds.insecureSkipVerify,
        ...(creds.ca ? { ca: creds.ca } : {}),
        ...(creds.cert ? { cert: creds.cert } : {}),
        ...(creds.key ? { key: creds.key } : {}),
        ...(creds.servername ? { servername: creds.servername } : {}),
      },
    });
  }

  #path(extra: Record<string, string>): string {
    const o = this.#o;
    const params = new URLSearchParams({ labelSelector: `kubernetes.io/service-name=${o.service}`, ...extra });
    return `${this.#creds!.server}/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(o.namespace)}/endpointslices?${params}`;
  }

  #headers(): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', 'user-agent': USER_AGENT };
    const auth = this.#creds!.authorization();
    if (auth) h.authorization = auth;
    return h;
  }

  async #request(url: string, opts: { bodyTimeout: number }): Promise<Dispatcher.ResponseData> {
    const controller = new AbortController();
    this.#controller = controller;
    return request(url, { method: 'GET', headers: this.#headers(), dispatcher: this.#agent!, signal: controller.signal, headersTimeout: 30_000, bodyTimeout: opts.bodyTimeout });
  }

  async #list(): Promise<void> {
    const slices = new Map<string, EndpointSlice>();
    let cont: string | undefined;
    let rv: string | undefined;
    this.lists++;
    do {
      const res = await this.#request(this.#path({ limit: String(this.#o.pageSize ?? 500), ...(cont ? { continue: cont } : {}) }), { bodyTimeout: 30_000 });
      if (res.statusCode === 410 && cont) {
        // The continue token expired mid-list: start the list over.
        await res.body.dump();
        slices.clear();
        cont = undefined;
        continue;
      }
      const text = await readCapped(res.body, MAX_LIST_BYTES);
      if (res.statusCode !== 200) throw httpError('list', res.statusCode, text);
      let body: { kind?: string; metadata?: { resourceVersion?: string; continue?: string }; items?: unknown };
      try {
        body = JSON.parse(text);
      } catch {
        throw new DiscoveryError('EP_DISCOVERY_K8S_FORMAT', 'list response is not JSON');
      }
      if (!body || !Array.isArray(body.items) || typeof body.metadata?.resourceVersion !== 'string') {
        throw new DiscoveryError('EP_DISCOVERY_K8S_FORMAT', `list response is not an EndpointSliceList (kind ${JSON.stringify(body?.kind)})`);
      }
      for (const item of body.items) {
        const s = asEndpointSlice(item);
        slices.set(s.metadata.name, s);
      }
      rv = body.metadata.resourceVersion;
      cont = body.metadata.continue || undefined;
    } while (cont !== undefined && !this.#stopped);
    if (this.#stopped) return;
    this.#slices = slices;
    this.#rv = rv;
    this.#publish();
  }

  /** One watch request; resolves with the number of events when the server ends it normally. */
  async #watch(): Promise<number> {
    const timeoutSeconds = this.#o.watchTimeoutSeconds ?? 300 + Math.floor(this.#o.rng.next() * 300);
    const url = this.#path({ watch: '1', resourceVersion: this.#rv!, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) });
    // Silence longer than the server's own timeout means a dead connection.
    const res = await this.#request(url, { bodyTimeout: (timeoutSeconds + 60) * 1000 });
    this.watches++;
    if (res.statusCode === 410) {
      const text = await readCapped(res.body, 64 * 1024).catch(() => '');
      throw new GoneError(statusMessage(text) ?? 'watch answered 410 Gone');
    }
    if (res.statusCode !== 200) throw httpError('watch', res.statusCode, await readCapped(res.body, 64 * 1024).catch(() => ''));
    // The watch is established: the source works again, with the set we hold.
    this.#publish();
    const progress = { events: 0 };
    try {
      await this.#readEvents(res.body, progress);
    } catch (err) {
      if (err instanceof DiscoveryError || this.#stopped) throw err;
      // The connection dropped mid-stream: like a normal end, the loop
      // re-watches from the last resourceVersion; only if that fails is the
      // source failing.
      this.#o.logger.debug({ event: 'k8s_watch_dropped', cluster: this.#o.cluster, err: (err as Error).message }, 'watch connection dropped; resuming');
    }
    return progress.events;
  }

  /** Reads newline-delimited watch events and applies them in order. */
  async #readEvents(body: Dispatcher.ResponseData['body'], progress: { events: number }): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    const fail = (message: string): never => {
      body.on('error', () => {});
      body.destroy();
      throw new DiscoveryError('EP_DISCOVERY_K8S_FORMAT', message);
    };
    for await (const chunk of body) {
      buffer += decoder.decode(chunk as Buffer, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line === '') continue;
        let ev: WatchEvent;
        try {
          ev = JSON.parse(line) as WatchEvent;
        } catch {
          return fail('watch event is not JSON');
        }
        progress.events++;
        try {
          this.#apply(ev);
        } catch (err) {
          body.on('error', () => {});
          body.destroy();
          throw err;
        }
      }
      if (buffer.length > MAX_EVENT_BYTES) fail(`watch event larger than ${MAX_EVENT_BYTES} bytes`);
    }
  }

  #apply(ev: WatchEvent): void {
    switch (ev?.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const s = asEndpointSlice(ev.object);
        this.#slices.set(s.metadata.name, s);
        this.#advance(s.metadata.resourceVersion);
        this.#publish();
        return;
      }
      case 'DELETED': {
        const s = asEndpointSlice(ev.object);
        this.#slices.delete(s.metadata.name);
        this.#advance(s.metadata.resourceVersion);
        this.#publish();
        return;
      }
      case 'BOOKMARK':
        this.#advance((ev.object as { metadata?: { resourceVersion?: string } })?.metadata?.resourceVersion);
        return;
      case 'ERROR': {
        const st = ev.object as { code?: number; message?: string; reason?: string };
        if (st?.code === 410 || st?.reason === 'Expired' || st?.reason === 'Gone') throw new GoneError(st?.message ?? 'resourceVersion too old');
        throw new DiscoveryError('EP_DISCOVERY_K8S_HTTP', `watch error ${st?.code ?? ''}: ${st?.message ?? 'unknown'}`);
      }
      default:
        throw new DiscoveryError('EP_DISCOVERY_K8S_FORMAT', `unknown watch event type ${JSON.stringify(ev?.type)}`);
    }
  }

  #advance(rv: string | undefined): void {
    if (typeof rv === 'string' && rv !== '') this.#rv = rv;
  }

  #publish(): void {
    this.#state.succeeded(sliceAddresses(this.#slices.values(), this.#o.port));
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

async function readCapped(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.on('error', () => {});
      body.destroy();
      throw new DiscoveryError('EP_DISCOVERY_K8S_FORMAT', `response larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function statusMessage(text: string): string | undefined {
  try {
    const s = JSON.parse(text) as { kind?: string; message?: string };
    return s?.kind === 'Status' && typeof s.message === 'string' ? s.message : undefined;
  } catch {
    return undefined;
  }
}

function httpError(what: string, status: number, text: string): DiscoveryError {
  const msg = statusMessage(text) ?? text.slice(0, 200);
  const hint = status === 401 ? ' (credentials rejected)' : status === 403 ? ' (RBAC: the service account needs get/list/watch on endpointslices.discovery.k8s.io, see deploy/k8s/rbac.yaml)' : '';
  return new DiscoveryError('EP_DISCOVERY_K8S_HTTP', `${what} answered ${status}${hint}${msg ? `: ${msg}` : ''}`);
}
