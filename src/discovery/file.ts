import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { formatHostPort, parseHostPort } from '../util/address.ts';
import { DiscoveryError } from './errors.ts';
import { SourceState } from './status.ts';
import type { DiscoveryListener, DiscoverySource, DiscoveryStatus } from './types.ts';

/** Bounds on what a file may make us hold: it is written by scripts, not by us. */
export const MAX_FILE_BYTES = 1024 * 1024;
export const MAX_FILE_ENDPOINTS = 10_000;

/**
 * Parses an endpoint list file. Accepted forms:
 * - one `host:port` per line, `#` comments and blank lines ignored (what a
 *   blue/green deploy script writes with `echo`);
 * - a JSON or YAML list of `"host:port"` strings or `{host, port}` /
 *   `{address}` objects, or an object with such a list under `endpoints`.
 * Anything invalid rejects the whole file (the caller keeps the previous set),
 * with the line or index that is wrong.
 */
export function parseEndpointList(text: string): string[] {
  const body = text.replace(/^\uFEFF/, '');
  const trimmed = body.trim();
  if (trimmed === '') throw new DiscoveryError('EP_DISCOVERY_FILE_FORMAT', 'the file lists no endpoints');
  const structured = /^[[{]/.test(trimmed) || /^\s*-\s/m.test(body) || /^endpoints\s*:/m.test(body);
  const out = structured ? parseStructured(body) : parseLines(body);
  if (out.length === 0) throw new DiscoveryError('EP_DISCOVERY_FILE_FORMAT', 'the file lists no endpoints');
  return out;
}

function parseLines(body: string): string[] {
  const out: string[] = [];
  const lines = body.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*$/, '').trim();
    if (line === '') continue;
    out.push(normalize(line, `line ${i + 1}`));
    if (out.length > MAX_FILE_ENDPOINTS) throw new DiscoveryError('EP_DISCOVERY_FILE_FORMAT', `more than ${MAX_FILE_ENDPOINTS} endpoints`);
  }
  return out;
}

function parseStructured(body: string): string[] {
  let doc: unknown;
  try {
    doc = parseYaml(body, { maxAliasCount: 100 });
  } catch (err) {
    throw new DiscoveryError('EP_DISCOVERY_FILE_FORMAT', `not valid JSON/YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const list = Array.isArray(doc) ? doc : doc && typeof doc === 'object' && Array.isArray((doc as { endpoints?: unknown }).endpoints) ? (doc as { endpoints: unknown[] }).endpoints : undefined;
  if (!list) throw new DiscoveryError('EP_DISCOVERY_FILE_FORMAT', 'expected a list of endpoints (or an object with an `endpoints` list)');
  if (list.length > MAX_FILE_ENDPOINTS) throw new DiscoveryError('EP_DISCOVERY_FILE_FORMAT', `more than ${MAX_FILE_ENDPOINTS} endpoints`);
  return list.map((item, i) => {
    const where = `entry ${i}`;
    if (typeof item === 'string') return normalize(item.trim(), where);
    if (item && typeof item === 'object') {
      const o = item as { address?: unknown; host?: unknown; port?: unknown };
      if (typeof o.address === 'string') return normalize(o.address.trim(), where);
      if (typeof o.host === 'string' && (typeof o.port === 'number' || typeof o.port === 'string')) {
        const port = Number(o.port);
        if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DiscoveryError('EP_DISCOVERY_FILE_FORMAT', `${where}: invalid port ${JSON.stringify(o.port)}`);
        return formatHostPort({ host: o.host.trim(), port });
      }
    }
    throw new DiscoveryError('EP_DISCOVERY_FILE_FORMAT', `${where}: expected "host:port", {address} or {host, port}`);
  });
}

function normalize(text: string, where: string): string {
  try {
    const hp = parseHostPort(text);
    if (hp.port === 0) throw new Error('port 0');
    return formatHostPort(hp);
  } catch (err) {
    throw new DiscoveryError('EP_DISCOVERY_FILE_FORMAT', `${where}: ${(err as Error).message}`);
  }
}

export interface FileSourceOptions {
  cluster: string;
  /** Absolute path. */
  path: string;
  pollIntervalMs: number;
  clock: Clock;
  logger: Logger;
}

/**
 * A watched endpoint list file. Change events (fs.watch on the directory, so
 * an atomic `mv tmp endpoints.txt` is seen) trigger a re-read after a short
 * settle delay; a poll of the file's stat catches what events miss (network
 * filesystems, editors). A missing, unreadable, oversized or invalid file
 * keeps the last good set.
 */
export class FileSource implements DiscoverySource {
  readonly kind = 'file' as const;
  readonly #o: FileSourceOptions;
  readonly #state: SourceState;
  #watcher: FSWatcher | undefined;
  #pollTimer: TimerHandle | undefined;
  #settleTimer: TimerHandle | undefined;
  #stopped = true;
  #reading = false;
  #again = false;
  #lastStat = '';

  constructor(options: FileSourceOptions) {
    this.#o = options;
    this.#state = new SourceState(options.cluster, 'file', options.clock, options.logger);
  }

  start(listener: DiscoveryListener): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#state.attach(listener);
    const file = basename(this.#o.path);
    try {
      this.#watcher = watch(dirname(this.#o.path), { persistent: false }, (_event, name) => {
        if (name === null || name === undefined || String(name) === file) this.#changed();
      });
      this.#watcher.on('error', (err) => {
        this.#o.logger.debug({ event: 'file_watch_error', cluster: this.#o.cluster, err: err.message }, 'file watch failed; polling only');
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch (err) {
      // The directory may not exist yet: polling finds the file when it appears.
      this.#o.logger.debug({ event: 'file_watch_error', cluster: this.#o.cluster, err: (err as Error).message }, 'cannot watch; polling only');
    }
    void this.#read();
    this.#poll();
  }

  stop(): void {
    this.#stopped = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#o.clock.clearTimeout(this.#pollTimer);
    this.#o.clock.clearTimeout(this.#settleTimer);
    this.#state.attach(undefined);
    this.#state.dispose();
  }

  status(): DiscoveryStatus {
    return this.#state.status();
  }

  #changed(): void {
    if (this.#stopped) return;
    // Writers often produce several events per change; read once they settle.
    this.#o.clock.clearTimeout(this.#settleTimer);
    this.#settleTimer = this.#o.clock.setTimeout(() => void this.#read(), 50);
  }

  #poll(): void {
    this.#pollTimer = this.#o.clock.setTimeout(async () => {
      if (this.#stopped) return;
      try {
        const s = await stat(this.#o.path);
        if (statKey(s) !== this.#lastStat || !this.#state.status().ok) await this.#read();
      } catch {
        if (this.#state.status().ok || !this.#state.status().delivered) await this.#read();
      }
      if (!this.#stopped) this.#poll();
    }, this.#o.pollIntervalMs);
  }

  async #read(): Promise<void> {
    if (this.#stopped) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    try {
      do {
        this.#again = false;
        await this.#readOnce();
      } while (this.#again && !this.#stopped);
    } finally {
      this.#reading = false;
    }
  }

  async #readOnce(): Promise<void> {
    const path = this.#o.path;
    try {
      const s = await stat(path);
      this.#lastStat = statKey(s);
      if (!s.isFile()) throw new DiscoveryError('EP_DISCOVERY_FILE', `${path} is not a regular file`);
      if (s.size > MAX_FILE_BYTES) throw new DiscoveryError('EP_DISCOVERY_FILE', `${path} is larger than ${MAX_FILE_BYTES} bytes`);
      const text = await readFile(path, 'utf8');
      if (text.length > MAX_FILE_BYTES) throw new DiscoveryError('EP_DISCOVERY_FILE', `${path} is larger than ${MAX_FILE_BYTES} bytes`);
      let addresses: string[];
      try {
        addresses = parseEndpointList(text);
      } catch (err) {
        throw new DiscoveryError('EP_DISCOVERY_FILE_FORMAT', `${path}: ${(err as Error).message}`);
      }
      if (!this.#stopped) this.#state.succeeded(addresses);
    } catch (err) {
      if (this.#stopped) return;
      const e = err as NodeJS.ErrnoException;
      this.#state.failed(err instanceof DiscoveryError ? err : new DiscoveryError('EP_DISCOVERY_FILE', `${path}: ${e.code ?? e.message}`));
    }
  }
}

function statKey(s: { mtimeMs: number; size: number; ino: number }): string {
  return `${s.mtimeMs}:${s.size}:${s.ino}`;
}
