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
 * secrets or the token), nor query values other than the API's own (a token
 * sent as `?token=` is refused, and must not be kept either).
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
    entry = { ...entry, url: redactUrl(entry.url) };
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

/** Query parameters of the admin API whose values are worth keeping in a log: none of them is a secret. */
const LOGGED_QUERY_PARAMS = new Set(['address']);
const REDACTED = '[redacted]';

/**
 * The URL as logs may keep it: the path, and the query with every value
 * replaced by `[redacted]` except those of the API's own parameters. An
 * allow-list, not a deny-list: a client may put a secret under any name.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url.slice(q + 1);
  if (query === '') return url.slice(0, q);
  const parts = query.split('&').map((part) => {
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    let name: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
    } catch {
      name = rawName;
    }
    if (LOGGED_QUERY_PARAMS.has(name)) return part;
    // A bare part may be the secret itself; a name is kept (it says what was tried) in a safe spelling only.
    if (eq < 0) return REDACTED;
    const safeName = /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : REDACTED;
    return `${safeName}=${REDACTED}`;
  });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}
