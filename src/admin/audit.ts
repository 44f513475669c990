import { open, rename, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../util/logger.ts';

export interface AuditEntry {
  at: string;
  method: string;
  url: string;
  status: number;
  author: string;
  remote: string;
  /** The version the write produced (or left in force when unchanged). */
  version?: number;
  changed?: boolean;
  errors?: { path: string; message: string }[];
}

export interface AuditLogOptions {
  dir: string;
  logger: Logger;
  /** Rotate to audit.log.1 past this size; default 10 MiB. */
  maxBytes?: number;
}

/**
 * The admin audit trail: one JSON line per write attempt and per refused
 * request, in `<stateDir>/audit.log` (0600), rotated once to audit.log.1.
 * It is a record for people, not state: a failed append is logged and never
 * fails the request. Bodies and headers are never written (they may carry
 * secrets or the token).
 */
export class AuditLog {
  readonly file: string;
  readonly #logger: Logger;
  readonly #maxBytes: number;
  #handle: Promise<FileHandle> | undefined;
  #size = -1;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(options: AuditLogOptions) {
    this.file = join(options.dir, 'audit.log');
    this.#logger = options.logger.child({ component: 'audit' });
    this.#maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    if (!(this.#maxBytes > 0)) throw new RangeError('audit maxBytes must be positive');
  }

  append(entry: AuditEntry): Promise<void> {
    this.#logger.info(entry, 'admin audit');
    const run = this.#tail.then(() => this.#append(JSON.stringify(entry) + '\n'));
    this.#tail = run.catch(() => {});
    return run.catch((err: Error) => this.#logger.warn({ err: err.message, file: this.file }, 'cannot append to the audit log'));
  }

  async close(): Promise<void> {
    await this.#tail;
    const h = this.#handle;
    this.#handle = undefined;
    if (h) await (await h).close().catch(() => {});
  }

  async #append(line: string): Promise<void> {
    if (this.#size < 0) this.#size = await stat(this.file).then((s) => s.size, () => 0);
    if (this.#size > 0 && this.#size + line.length > this.#maxBytes) {
      const h = this.#handle;
      this.#handle = undefined;
      if (h) await (await h).close().catch(() => {});
      await rename(this.file, `${this.file}.1`);
      this.#size = 0;
    }
    this.#handle ??= open(this.file, 'a', 0o600);
    const fh = await this.#handle;
    await fh.appendFile(line);
    this.#size += Buffer.byteLength(line);
  }
}
