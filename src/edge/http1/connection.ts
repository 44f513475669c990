import type { Socket } from 'node:net';
import { RequestParser, type RequestHead, type Http1Limits } from './request-parser.ts';
import { Http1ParseError } from './errors.ts';
import { NativeRequest, NativeBodyRequest, type AnyNativeRequest } from './messages.ts';
import { NativeResponse, type ResponseOwner } from './response.ts';
import { reasonPhrase } from './serialize.ts';
import { PhaseTimer } from './phase-timer.ts';

export interface ConnectionSettings {
  limits: Http1Limits;
  /** From the first byte of a request head to its end (slowloris). */
  headersTimeoutMs: number;
  /** From the first byte of a request to the end of its body. */
  requestTimeoutMs: number;
  /** Idle time between requests before the connection closes. */
  keepAliveTimeoutMs: number;
}

export interface ConnectionHandlers {
  /** A parsed request, with the response to fill in. */
  request(req: AnyNativeRequest, res: NativeResponse): void;
  /** An Upgrade request: the socket and the bytes after the head now belong to the handler. */
  upgrade(req: NativeRequest, socket: Socket, head: Buffer): void;
  /** A request refused by the parser or a timeout (already answered): for metrics. */
  clientError(reason: string): void;
  /** Whether the gateway is draining (responses then close their connection). */
  draining(): boolean;
  /**
   * A bodiless request answered from its head alone, before a request and
   * response exist (a rate-limit refusal, docs/routing.md): the whole
   * response to write, or null to serve the request as usual.
   */
  answerFromHead?(head: RequestHead, socket: Socket, keepAlive: boolean): string | null;
}

type Phase = 'idle' | 'headers' | 'request';

/**
 * One downstream HTTP/1.1 connection: parses requests, runs one exchange at
 * a time and answers pipelined requests in order (the parser is paused while
 * a response is outstanding, so the next request's bytes wait in the kernel
 * and in the parser). Refused requests get their status and a JSON reason,
 * then the connection closes.
 */
export class Http1Connection implements ResponseOwner {
  readonly socket: Socket;
  readonly #settings: ConnectionSettings;
  readonly #handlers: ConnectionHandlers;
  readonly #parser: RequestParser;
  #req: AnyNativeRequest | null = null;
  #res: NativeResponse | null = null;
  /** The request's body is still arriving. */
  #body: NativeBodyRequest | null = null;
  readonly #timer = new PhaseTimer<Phase>((phase) => this.#timedOut(phase));
  #closing = false;
  /** The client sent FIN: the requests already received are answered, then the connection ends. */
  #clientEnded = false;
  #headStarted = false;
  #heldBack = false;

  constructor(socket: Socket, settings: ConnectionSettings, handlers: ConnectionHandlers) {
    this.socket = socket;
    this.#settings = settings;
    this.#handlers = handlers;
    this.#parser = new RequestParser(
      {
        onHead: (h) => this.#onHead(h),
        onBody: (b) => this.#body?.feed(b),
        onEnd: () => this.#onRequestEnd(),
      },
      settings.limits,
    );
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.#onData(d));
    socket.on('end', () => this.#onEnd());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#onClose());
    this.#timer.arm('idle', settings.keepAliveTimeoutMs);
  }

  /** Idle: no request in progress and nothing buffered (a drain may close it now). */
  get idle(): boolean {
    return this.#res === null && this.#parser.idle;
  }

  /** Draining: close now when idle, otherwise after the current response. */
  closeWhenIdle(): void {
    this.#closing = true;
    if (this.idle) this.socket.end();
  }

  #onData(d: Buffer): void {
    if (!this.#headStarted && this.#res === null) {
      this.#headStarted = true;
      this.#timer.arm('headers', this.#settings.headersTimeoutMs);
    }
    try {
      this.#parser.execute(d);
    } catch (err) {
      if (err instanceof Http1ParseError) this.#refuse(err.status, err.reason, err.status === 431 ? 'request header fields too large' : err.message);
      else throw err;
    }
    // Pipelined requests piling up behind a slow response: stop reading until it is done.
    if (this.#parser.paused && this.#parser.bufferedBytes > this.#settings.limits.maxHeaderBytes) {
      this.socket.pause();
      this.#heldBack = true;
    }
  }

  #onHead(h: RequestHead): void {
    this.#headStarted = false;
    const keepAlive = h.keepAlive && !this.#closing && !this.#handlers.draining();
    const socket = this.socket;
    if (h.upgrade) {
      this.#timer.stop();
      const req = new NativeRequest(h, socket);
      socket.removeAllListeners('data');
      socket.removeAllListeners('end');
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      this.#handlers.upgrade(req, socket, this.#parser.takeLeftover());
      return;
    }
    if (!h.chunked && h.contentLength <= 0 && this.#handlers.answerFromHead !== undefined) {
      const answer = this.#handlers.answerFromHead(h, socket, keepAlive);
      if (answer !== null) {
        this.#answered(answer, keepAlive);
        return;
      }
    }
    const res = new NativeResponse(this, h.method, keepAlive, h.versionMinor === 0);
    this.#res = res;
    let req: AnyNativeRequest;
    if (h.chunked || h.contentLength > 0) {
      const body = new NativeBodyRequest(h, socket, (paused) => this.#pressure(paused));
      this.#body = body;
      req = body;
      this.#timer.arm('request', this.#settings.requestTimeoutMs);
      if (h.expectContinue && h.versionMinor === 1) socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    } else {
      req = new NativeRequest(h, socket);
      this.#timer.disarm();
    }
    this.#req = req;
    this.#handlers.request(req, res);
  }

  /** A response answerFromHead wrote whole: as responseDone() after it, with the parser already going on to the next request. */
  #answered(answer: string, keepAlive: boolean): void {
    if (!keepAlive) {
      this.#closing = true;
      this.#parser.pause();
      this.socket.end(answer);
      return;
    }
    this.socket.write(answer);
    this.#timer.arm('idle', this.#settings.keepAliveTimeoutMs);
  }

  #onRequestEnd(): void {
    // One exchange at a time: a pipelined request behind this one waits in the parser until the response is done
    // (a response already finished, e.g. a local 404, lets the parser go straight on).
    if (this.#res !== null) this.#parser.pause();
    const body = this.#body;
    if (body !== null) {
      this.#body = null;
      if (this.#timer.kind === 'request') this.#timer.disarm();
      body.push(null);
    }
  }

  #pressure(paused: boolean): void {
    if (paused) this.socket.pause();
    else this.socket.resume();
  }

  responseDone(res: NativeResponse, keepAlive: boolean): void {
    if (res !== this.#res) return;
    this.#res = null;
    this.#req = null;
    if (!keepAlive || this.#body !== null) {
      // A response sent before its request body was read whole: the rest of the stream can't be framed reliably.
      this.#closing = true;
      this.socket.end();
      return;
    }
    this.#timer.arm('idle', this.#settings.keepAliveTimeoutMs);
    if (this.#heldBack) {
      this.#heldBack = false;
      this.socket.resume();
    }
    // Serve the next pipelined request, if its bytes are already here.
    try {
      this.#parser.resume();
    } catch (err) {
      if (err instanceof Http1ParseError) this.#refuse(err.status, err.reason, err.message);
      else throw err;
    }
    if (this.#res === null) {
      if (this.#clientEnded) this.#finishAfterClientEnd();
      else if (this.#closing && this.idle) this.socket.end();
    }
  }

  /** After the client's FIN, once no response is outstanding: close cleanly, or cut off a request that can never complete. */
  #finishAfterClientEnd(): void {
    if (this.#parser.atMessageBoundary()) this.socket.end();
    else this.socket.destroy();
  }

  #refuse(status: number, reason: string, message: string): void {
    this.#handlers.clientError(reason);
    const body = this.#body;
    this.#body = null;
    const res = this.#res;
    if (res !== null && res.headersSent) {
      this.socket.destroy();
    } else if (!this.socket.destroyed && this.socket.writable) {
      const json = JSON.stringify({ error: reason, message });
      this.socket.end(`HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
    }
    this.#closing = true;
    this.#timer.disarm();
    if (res !== null) {
      this.#res = null;
      res.closed();
    }
    body?.destroy(Object.assign(new Error(message), { code: 'EP_DOWNSTREAM_CLOSED' }));
  }

  #onEnd(): void {
    // The client half-closed: what it already sent is answered (pipelined requests included), then the connection ends.
    this.#clientEnded = true;
    // A request body cut off by the FIN can never complete: that exchange ends as a client close (499).
    if (this.#body !== null) this.socket.destroy();
    else if (this.#res === null) this.#finishAfterClientEnd();
  }

  #onClose(): void {
    this.#timer.stop();
    const res = this.#res;
    this.#res = null;
    const body = this.#body;
    this.#body = null;
    if (res !== null && !res.finished) res.closed();
    body?.destroy(Object.assign(new Error('the client closed the connection'), { code: 'EP_DOWNSTREAM_CLOSED' }));
  }

  #timedOut(phase: Phase): void {
    if (phase === 'idle') {
      if (this.#res === null) this.socket.destroy();
    } else {
      this.#refuse(408, 'request_timeout', 'the request did not arrive in time');
    }
  }
}
