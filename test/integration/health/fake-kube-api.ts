import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { EndpointSlice } from '../../../src/discovery/endpoint-slices.ts';

/**
 * A stand-in for the Kubernetes API server's EndpointSlice list/watch, with
 * the real wire format: a list is an EndpointSliceList with
 * metadata.resourceVersion (and `continue` when paged), a watch is a chunked
 * stream of newline-terminated JSON events {type, object}. Every change bumps
 * a global resourceVersion; a watch from an old version replays what happened
 * since, unless that history was compacted, in which case it answers like the
 * API server: HTTP 200 and one ERROR event carrying a 410 Status.
 */
export class FakeKubeApi {
  rv = 100;
  readonly slices = new Map<string, EndpointSlice>();
  readonly events: { rv: number; type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: EndpointSlice }[] = [];
  /** Watches from a resourceVersion below this get 410 Gone. */
  compactedBefore = 0;
  /** Answer stale watches with an HTTP 410 status instead of the ERROR event. */
  goneAsHttpStatus = false;
  /** Bearer token the server accepts; undefined accepts anything. */
  token: string | undefined;
  readonly requests: { watch: boolean; resourceVersion: string | null; continue: string | null; limit: string | null; authorization: string | undefined; labelSelector: string | null }[] = [];
  readonly #watchers = new Set<{ res: http.ServerResponse; from: number }>();
  readonly #sockets = new Set<Socket>();
  server!: http.Server;
  port = 0;

  constructor(readonly namespace: string, readonly service: string) {}

  async listen(tls?: { cert: Buffer; key: Buffer }): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.#handle(req, res);
    this.server = tls ? https.createServer(tls, handler) : http.createServer(handler);
    this.server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    this.server.on('secureConnection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(scheme = 'http'): string {
    return `${scheme}://127.0.0.1:${this.port}`;
  }

  /** Adds or replaces a slice (ADDED or MODIFIED), as the EndpointSlice controller would. */
  put(slice: EndpointSlice): void {
    const type = this.slices.has(slice.metadata.name) ? 'MODIFIED' : 'ADDED';
    this.rv++;
    const stored = { ...slice, metadata: { ...slice.metadata, resourceVersion: String(this.rv) } };
    this.slices.set(slice.metadata.name, stored);
    this.#emit({ rv: this.rv, type, object: stored });
  }

  delete(name: string): void {
    const s = this.slices.get(name);
    if (!s) return;
    this.rv++;
    this.slices.delete(name);
    this.#emit({ rv: this.rv, type: 'DELETED', object: { ...s, metadata: { ...s.metadata, resourceVersion: String(this.rv) } } });
  }

  /** Forgets the history before the current revision (etcd compaction): watching from now on works, from before does not. */
  compact(): void {
    this.compactedBefore = this.rv;
  }

  /** Cuts every open watch connection mid-stream. */
  dropWatches(): void {
    for (const w of this.#watchers) w.res.socket?.destroy();
    this.#watchers.clear();
  }

  /** Writes raw text into every open watch (bad input). */
  writeToWatches(text: string): void {
    for (const w of this.#watchers) w.res.write(text);
  }

  bookmark(): void {
    for (const w of this.#watchers) w.res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', metadata: { resourceVersion: String(this.rv) } } }) + '\n');
  }

  get openWatches(): number {
    return this.#watchers.size;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  #emit(ev: { rv: number; type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: EndpointSlice }): void {
    this.events.push(ev);
    if (!this.#matches(ev.object)) return;
    for (const w of this.#watchers) w.res.write(JSON.stringify({ type: ev.type, object: ev.object }) + '\n');
  }

  #matches(s: EndpointSlice): boolean {
    return s.metadata.namespace === this.namespace && s.metadata.labels?.['kubernetes.io/service-name'] === this.service;
  }

  #status(res: http.ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url!, 'http://x');
    const q = url.searchParams;
    const watch = q.get('watch') === '1' || q.get('watch') === 'true';
    this.requests.push({ watch, resourceVersion: q.get('resourceVersion'), continue: q.get('continue'), limit: q.get('limit'), authorization: req.headers.authorization, labelSelector: q.get('labelSelector') });
    if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) return this.#status(res, 401, 'Unauthorized', 'Unauthorized');
    if (url.pathname !== `/apis/discovery.k8s.io/v1/namespaces/${this.namespace}/endpointslices`) return this.#status(res, 404, 'NotFound', 'the server could not find the requested resource');
    if (q.get('labelSelector') !== `kubernetes.io/service-name=${this.service}`) return this.#status(res, 400, 'BadRequest', 'unexpected label selector');
    if (!watch) return this.#list(res, q);

    const from = Number(q.get('resourceVersion'));
    if (!Number.isFinite(from) || from < this.compactedBefore) {
      if (this.goneAsHttpStatus) return this.#status(res, 410, 'Expired', `too old resource version: ${from} (${this.compactedBefore})`);
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${this.compactedBefore})`, reason: 'Expired', code: 410 } }) + '\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    for (const ev of this.events) if (ev.rv > from && this.#matches(ev.object)) res.write(JSON.stringify({ type: ev.type, object: ev.object }) + '\n');
    const w = { res, from };
    this.#watchers.add(w);
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      this.#watchers.delete(w);
    });
  }

  #list(res: http.ServerResponse, q: URLSearchParams): void {
    const all = [...this.slices.values()].filter((s) => this.#matches(s)).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const limit = Number(q.get('limit') ?? '0');
    let offset = 0;
    let listRv = this.rv;
    const cont = q.get('continue');
    if (cont) {
      const [o, r] = Buffer.from(cont, 'base64').toString().split(':').map(Number);
      if (r! < this.compactedBefore) return this.#status(res, 410, 'Expired', 'The provided continue parameter is too old');
      offset = o!;
      listRv = r!;
    }
    const page = limit > 0 ? all.slice(offset, offset + limit) : all.slice(offset);
    const more = limit > 0 && offset + limit < all.length;
    const items = page.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'EndpointSliceList',
        apiVersion: 'discovery.k8s.io/v1',
        metadata: { resourceVersion: String(listRv), ...(more ? { continue: Buffer.from(`${offset + limit}:${listRv}`).toString('base64') } : {}) },
        items,
      }),
    );
  }
}
