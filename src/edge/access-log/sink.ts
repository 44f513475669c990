import { openSync, closeSync, write } from 'node:fs';
import { EdgeplaneError } from '../../util/errors.ts';

export class AccessLogOpenError extends EdgeplaneError {
  constructor(path: string, cause: unknown) {
    super('EP_ACCESS_LOG_OPEN', `cannot open access log ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
}

/** Lines buffered beyond this are dropped (and counted) rather than let a stuck disk grow the heap. */
export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/**
 * Where access-log lines go: stdout or a file opened for append. Lines are
 * batched and written once per event-loop turn (one write for many requests),
 * never more than one write in flight, so whole lines reach the file in order.
 * `reopen()` (SIGUSR1, after logrotate moved the file) opens the path again
 * once the write in flight is done; nothing buffered is lost.
 */
export class LineSink {
  readonly path: string | null;
  #fd: number | null = null;
  #buffer: string[] = [];
  #bytes = 0;
  #scheduled = false;
  #writing = false;
  #reopen = false;
  #closed = false;
  #dropped = 0;
  #idle: (() => void)[] = [];
  readonly #onError: (err: Error) => void;

  constructor(path: string | null, onError: (err: Error) => void) {
    this.path = path;
    this.#onError = onError;
    if (path !== null) this.#fd = open(path);
  }

  /** Lines dropped because the buffer was full. */
  get dropped(): number {
    return this.#dropped;
  }

  writeLine(line: string): void {
    if (this.#closed) return;
    if (this.#bytes > MAX_BUFFERED_BYTES) {
      this.#dropped++;
      return;
    }
    this.#buffer.push(line);
    this.#bytes += line.length + 1;
    if (!this.#scheduled && !this.#writing) {
      this.#scheduled = true;
      setImmediate(flushSink, this);
    }
  }

  /** Opens the file again (logrotate's `postrotate kill -USR1`); a no-op for stdout. */
  reopen(): void {
    if (this.path === null) return;
    if (this.#writing) this.#reopen = true;
    else this.#doReopen();
  }

  /** Resolves when everything buffered so far is written. */
  flushed(): Promise<void> {
    if (this.#buffer.length === 0 && !this.#writing) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async close(): Promise<void> {
    await this.flushed();
    this.#closed = true;
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#writing) return;
    if (this.#buffer.length === 0) return this.#settle();
    const data = this.#buffer.join('\n') + '\n';
    this.#buffer = [];
    this.#bytes = 0;
    if (this.#fd === null) {
      process.stdout.write(data);
      return this.#settle();
    }
    this.#writing = true;
    const fd = this.#fd;
    const done = (err: NodeJS.ErrnoException | null): void => {
      this.#writing = false;
      if (err) this.#onError(err);
      if (this.#reopen) {
        this.#reopen = false;
        this.#doReopen();
      }
      if (this.#buffer.length > 0) this.flush();
      else this.#settle();
    };
    writeAll(fd, Buffer.from(data, 'utf8'), done);
  }

  #doReopen(): void {
    try {
      const fd = open(this.path!);
      if (this.#fd !== null) closeSync(this.#fd);
      this.#fd = fd;
    } catch (err) {
      // Keep writing to the old file rather than lose lines.
      this.#onError(err as Error);
    }
  }

  #settle(): void {
    if (this.#buffer.length > 0 || this.#writing) return;
    const idle = this.#idle;
    this.#idle = [];
    for (const f of idle) f();
  }
}

function flushSink(sink: LineSink): void {
  sink.flush();
}

function open(path: string): number {
  try {
    return openSync(path, 'a', 0o640);
  } catch (err) {
    throw new AccessLogOpenError(path, err);
  }
}

/** fs.write may write less than asked; the rest follows before the next batch. */
function writeAll(fd: number, buf: Buffer, cb: (err: NodeJS.ErrnoException | null) => void): void {
  write(fd, buf, 0, buf.length, null, (err, n) => {
    if (err) return cb(err);
    if (n < buf.length) return writeAll(fd, buf.subarray(n), cb);
    cb(null);
  });
}
