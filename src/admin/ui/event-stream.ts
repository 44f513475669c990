import type { ServerResponse } from 'node:http';

/** A slow or stalled reader is cut off instead of growing the gateway's memory without bound. */
const MAX_BUFFERED = 4 * 1024 * 1024;

/**
 * One server-sent-events response (text/event-stream) on a raw Node response
 * that fastify has handed over (reply.hijack()). Each event's data is one line
 * of JSON, so no event ever needs to be split over several `data:` lines.
 */
export class EventStream {
  readonly #res: ServerResponse;
  #closed = false;
  #lastWrite = Date.now();
  readonly #onClose = new Set<() => void>();

  constructor(res: ServerResponse, retryMs: number) {
    this.#res = res;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      // Never cached, never buffered by a proxy in front of the admin listener.
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    res.socket?.setNoDelay(true);
    res.on('close', () => this.#finish());
    this.#write(`retry: ${retryMs}\n\n`);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** ms since anything was written (for keep-alive comments). */
  idleMs(now = Date.now()): number {
    return now - this.#lastWrite;
  }

  send(event: string, data: unknown): void {
    this.sendRaw(event, JSON.stringify(data));
  }

  /** `json` must be one line (JSON.stringify without indentation is). */
  sendRaw(event: string, json: string): void {
    this.#write(`event: ${event}\ndata: ${json}\n\n`);
  }

  /** A comment line: keeps idle connections (and proxies' idle timers) alive; EventSource ignores it. */
  comment(text: string): void {
    this.#write(`: ${text}\n\n`);
  }

  onClose(fn: () => void): void {
    if (this.#closed) fn();
    else this.#onClose.add(fn);
  }

  close(): void {
    if (this.#closed) return;
    this.#res.end();
    this.#finish();
  }

  #write(chunk: string): void {
    if (this.#closed) return;
    if (this.#res.writableLength > MAX_BUFFERED) {
      this.#res.destroy();
      this.#finish();
      return;
    }
    this.#res.write(chunk);
    this.#lastWrite = Date.now();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fn of this.#onClose) fn();
    this.#onClose.clear();
  }
}
