import { resolve } from 'node:path';
import type { Config } from '../../config/schema/index.ts';
import { mathRng, type Rng } from '../../util/rng.ts';
import type { AccessRecord } from './record.ts';
import { formatJson, formatCombined, type Redact } from './formats.ts';
import { queryRedactor } from './redact.ts';
import { LineSink } from './sink.ts';
import { AccessLogSettings } from '../../config/schema/access-log.ts';
import { defaultsOf } from '../../config/schema/defaults.ts';

const D = defaultsOf(AccessLogSettings, ['format', 'sample', 'jwtSubject']);

export type AccessLogConfig = NonNullable<NonNullable<Config['logging']>['accessLog']>;

export interface AccessLogOptions {
  /** Relative `path`s resolve against this (the config file's directory). */
  baseDir: string;
  rng?: Rng;
  /** Write errors (disk full...): reported, never thrown at a request. */
  onError?: (err: Error) => void;
}

/** One configured access log: format, destination, sampling, redaction. */
export class AccessLog {
  readonly jwtSubject: boolean;
  readonly #sample: number;
  readonly #rng: Rng;
  readonly #format: (r: AccessRecord, redact: Redact) => string;
  readonly #redact: Redact;
  readonly sink: LineSink;

  /** Throws AccessLogOpenError when the file can't be opened. */
  constructor(config: Exclude<AccessLogConfig, boolean>, options: AccessLogOptions) {
    this.jwtSubject = config.jwtSubject ?? D.jwtSubject;
    this.#sample = config.sample ?? D.sample;
    this.#rng = options.rng ?? mathRng;
    this.#format = (config.format ?? D.format) === 'combined' ? formatCombined : formatJson;
    this.#redact = queryRedactor(config.redactQuery);
    this.sink = new LineSink(config.path === undefined ? null : resolve(options.baseDir, config.path), options.onError ?? (() => {}));
  }

  /** Whether this request's line is written: every response >= 500, and a `sample` share of the rest. */
  sampled(status: number): boolean {
    return status >= 500 || this.#sample >= 1 || (this.#sample > 0 && this.#rng.next() < this.#sample);
  }

  write(record: AccessRecord): void {
    this.sink.writeLine(this.#format(record, this.#redact));
  }

  reopen(): void {
    this.sink.reopen();
  }

  close(): Promise<void> {
    return this.sink.close();
  }
}

/**
 * The access log in force across config applies: a new one is prepared (its
 * file opened) before the apply commits and replaces the old only then; an
 * unchanged `logging.accessLog` keeps the same log and file.
 */
export class AccessLogs {
  #current: AccessLog | null = null;
  #key = 'false';
  readonly #options: AccessLogOptions;

  constructor(options: AccessLogOptions) {
    this.#options = options;
  }

  get current(): AccessLog | null {
    return this.#current;
  }

  /** The log for `config` (the current one when unchanged). Throws AccessLogOpenError. */
  prepare(config: AccessLogConfig | undefined): AccessLog | null {
    const key = JSON.stringify(config ?? false);
    if (key === this.#key) return this.#current;
    if (config === undefined || config === false) return null;
    return new AccessLog(config === true ? {} : config, this.#options);
  }

  /** Makes `log` (from prepare) the one in force; the previous one finishes its writes and closes. */
  commit(config: AccessLogConfig | undefined, log: AccessLog | null): void {
    if (log === this.#current) return;
    const old = this.#current;
    this.#current = log;
    this.#key = JSON.stringify(config ?? false);
    void old?.close();
  }

  /** An apply that failed: closes what prepare opened for it. */
  discard(log: AccessLog | null): void {
    if (log !== null && log !== this.#current) void log.close();
  }

  /** SIGUSR1. */
  reopen(): void {
    this.#current?.reopen();
  }

  async close(): Promise<void> {
    await this.#current?.close();
    this.#current = null;
    this.#key = 'false';
  }
}
