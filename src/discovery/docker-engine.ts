import { request as httpRequest, type IncomingMessage } from 'node:http';
import { EdgeplaneError } from '../util/errors.ts';

/**
 * A small client of the Docker Engine API (the subset discovery and deploys
 * use), over the daemon's unix socket or a TCP proxy in front of it. Podman's
 * Docker-compatible service (`podman system service`) speaks the same API.
 *
 * API v1.41 is what Docker 20.10 and Podman 4 both serve; the version is in
 * every path so a newer daemon answers in the shape this code reads.
 */
export const ENGINE_API_VERSION = 'v1.41';

/** Bounds on what a daemon can make us hold. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const MAX_EVENT_BYTES = 1024 * 1024;

export type EngineErrorCode = 'EP_ENGINE_CONNECT' | 'EP_ENGINE_HTTP' | 'EP_ENGINE_FORMAT' | 'EP_ENGINE_TIMEOUT' | 'EP_ENGINE_OPTIONS';

export class EngineError extends EdgeplaneError {
  /** HTTP status of the daemon's answer, when it answered. */
  readonly status: number | null;
  constructor(code: EngineErrorCode, message: string, status: number | null = null, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}

export interface EngineEndpoint {
  socketPath?: string;
  host?: string;
  port?: number;
  /** As configured, for messages. */
  display: string;
}

/** `unix:///var/run/docker.sock`, a bare socket path, or `http://host:port` (a socket proxy). */
export function parseEngineSocket(text: string): EngineEndpoint {
  if (text.startsWith('unix://')) {
    const path = text.slice('unix://'.length);
    if (!path.startsWith('/')) throw new EngineError('EP_ENGINE_OPTIONS', `socket ${text}: expected unix:///absolute/path`);
    return { socketPath: path, display: text };
  }
  if (text.startsWith('/')) return { socketPath: text, display: `unix://${text}` };
  if (text.startsWith('http://') || text.startsWith('tcp://')) {
    const u = new URL(text.replace(/^tcp:/, 'http:'));
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 2375), display: text };
  }
  throw new EngineError('EP_ENGINE_OPTIONS', `socket ${JSON.stringify(text)}: expected unix:///path/to/docker.sock or http://host:port`);
}

export interface ContainerSummary {
  Id: string;
  Names?: string[];
  Image?: string;
  Labels?: Record<string, string> | null;
  State?: string;
  Status?: string;
  Ports?: { IP?: string; PrivatePort?: number; PublicPort?: number; Type?: string }[] | null;
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> | null } | null;
  HostConfig?: { NetworkMode?: string };
}

export interface ContainerInspect {
  Id: string;
  Name?: string;
  Config?: { Labels?: Record<string, string> | null; Image?: string };
  State?: { Status?: string; Running?: boolean; ExitCode?: number; Health?: { Status?: string } | null };
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: {
    Networks?: Record<string, { IPAddress?: string }> | null;
    Ports?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
  };
}

export interface EngineEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

export interface EngineRequestOptions {
  body?: unknown;
  /** Raw request body (an image tarball); sent instead of `body`. */
  raw?: Buffer;
  contentType?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** One client per daemon; holds no connection between calls (the socket is local). */
export class EngineClient {
  readonly endpoint: EngineEndpoint;
  readonly #defaultTimeoutMs: number;

  constructor(socket: string, options: { timeoutMs?: number } = {}) {
    this.endpoint = parseEngineSocket(socket);
    this.#defaultTimeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Sends one request; resolves with the status and the parsed JSON body (or text when it is not JSON). */
  async call<T = unknown>(method: string, path: string, options: EngineRequestOptions = {}): Promise<{ status: number; body: T }> {
    const res = await this.#open(method, path, options);
    const text = await readCapped(res, MAX_BODY_BYTES);
    let body: unknown = text;
    if (text !== '' && /json/.test(String(res.headers['content-type'] ?? ''))) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new EngineError('EP_ENGINE_FORMAT', `${method} ${path}: the answer is not JSON`, res.statusCode ?? null);
      }
    }
    return { status: res.statusCode ?? 0, body: body as T };
  }

  /** Like `call`, but a status outside 2xx (and `okStatuses`) throws with the daemon's message. */
  async expect<T = unknown>(method: string, path: string, options: EngineRequestOptions = {}, okStatuses: number[] = []): Promise<T> {
    const { status, body } = await this.call<T>(method, path, options);
    if ((status >= 200 && status < 300) || okStatuses.includes(status)) return body;
    throw new EngineError('EP_ENGINE_HTTP', `${method} ${path.split('?')[0]} answered ${status}: ${daemonMessage(body)}`, status);
  }

  ping(timeoutMs = 2000): Promise<unknown> {
    return this.expect('GET', '/_ping', { timeoutMs });
  }

  /** Running containers carrying every one of `labels`. */
  listContainers(labels: Record<string, string>, options: { all?: boolean } = {}): Promise<ContainerSummary[]> {
    const q = new URLSearchParams({ filters: JSON.stringify({ label: labelFilters(labels) }) });
    if (options.all) q.set('all', '1');
    return this.expect<ContainerSummary[]>('GET', `/containers/json?${q}`).then((list) => {
      if (!Array.isArray(list)) throw new EngineError('EP_ENGINE_FORMAT', 'container list is not a list');
      return list;
    });
  }

  /** The container, or null when it no longer exists. */
  async inspectContainer(id: string): Promise<ContainerInspect | null> {
    const { status, body } = await this.call<ContainerInspect>('GET', `/containers/${encodeURIComponent(id)}/json`);
    if (status === 404) return null;
    if (status !== 200) throw new EngineError('EP_ENGINE_HTTP', `inspect ${id.slice(0, 12)} answered ${status}: ${daemonMessage(body)}`, status);
    return body;
  }

  /**
   * Opens the /events stream (container events carrying `labels`) and calls
   * `onEvent` per event; resolves when the daemon ends the stream, rejects
   * when the connection fails. `onOpen` runs once the daemon accepted it.
   */
  async events(labels: Record<string, string>, onEvent: (e: EngineEvent) => void, options: { signal: AbortSignal; onOpen?: () => void }): Promise<void> {
    const q = new URLSearchParams({ filters: JSON.stringify({ type: ['container'], label: labelFilters(labels) }) });
    const res = await this.#open('GET', `/events?${q}`, { signal: options.signal, timeoutMs: 0 });
    if (res.statusCode !== 200) {
      const text = await readCapped(res, 64 * 1024).catch(() => '');
      throw new EngineError('EP_ENGINE_HTTP', `events answered ${res.statusCode}: ${text.slice(0, 200)}`, res.statusCode ?? null);
    }
    options.onOpen?.();
    let buffer = '';
    res.setEncoding('utf8');
    for await (const chunk of res) {
      buffer += chunk as string;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line === '') continue;
        let ev: EngineEvent;
        try {
          ev = JSON.parse(line) as EngineEvent;
        } catch {
          res.destroy();
          throw new EngineError('EP_ENGINE_FORMAT', 'an event is not JSON');
        }
        onEvent(ev);
      }
      if (buffer.length > MAX_EVENT_BYTES) {
        res.destroy();
        throw new EngineError('EP_ENGINE_FORMAT', `an event is larger than ${MAX_EVENT_BYTES} bytes`);
      }
    }
  }

  #open(method: string, path: string, options: EngineRequestOptions): Promise<IncomingMessage> {
    const e = this.endpoint;
    const payload = options.raw ?? (options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body)));
    const timeoutMs = options.timeoutMs ?? this.#defaultTimeoutMs;
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          ...(e.socketPath ? { socketPath: e.socketPath } : { host: e.host, port: e.port }),
          method,
          path: `/${ENGINE_API_VERSION}${path}`,
          headers: {
            host: 'docker',
            'user-agent': 'edgeplane/1',
            ...(payload ? { 'content-type': options.contentType ?? 'application/json', 'content-length': String(payload.length) } : {}),
          },
          ...(options.signal ? { signal: options.signal } : {}),
        },
        (res) => {
          // The timeout bounds the wait for the answer's head; a stream then runs as long as it runs.
          req.setTimeout(0);
          resolve(res);
        },
      );
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () => req.destroy(new EngineError('EP_ENGINE_TIMEOUT', `${method} ${path.split('?')[0]}: no answer within ${timeoutMs}ms`)));
      }
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof EngineError) return reject(err);
        if (err.name === 'AbortError') return reject(err);
        reject(new EngineError('EP_ENGINE_CONNECT', `${e.display}: ${err.code ?? err.message}`, null, { cause: err }));
      });
      req.end(payload);
    });
  }
}

/** `{app: api}` → `["app=api"]`: the daemon ANDs label filters. */
export function labelFilters(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`);
}

function daemonMessage(body: unknown): string {
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message;
  return String(body ?? '').slice(0, 200);
}

async function readCapped(res: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.destroy();
      throw new EngineError('EP_ENGINE_FORMAT', `answer larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
