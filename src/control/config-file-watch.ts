import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import type { Logger } from '../util/logger.ts';

export interface ConfigFileWatchOptions {
  /** The config file as given (may be a symlink, e.g. a Kubernetes ConfigMap mount). */
  path: string;
  /** Applies the file like SIGHUP; must not throw (a bad file is logged by the caller and the running config stays). */
  reload: () => Promise<unknown>;
  logger: Logger;
  /** Quiet time after the last change before the file is read (editors and `git pull` write in several steps). Default 300 ms. */
  debounceMs?: number;
  /** How often the file is re-read anyway, for file systems whose events are missed (network mounts). Default 2 s. */
  pollMs?: number;
}

/**
 * `run --watch` / `watch: true`: re-reads the config file when it changes.
 * The directory is watched, not the file: an atomic save, a `git pull` and a
 * ConfigMap update all replace a directory entry (a rename or a symlink swap)
 * rather than writing into the file, which a watch on the file itself would
 * miss after the first swap. A change is recognised by the content's hash,
 * so touching the file or a swap to the same content is not a reload.
 */
export class ConfigFileWatch {
  readonly #o: Required<ConfigFileWatchOptions>;
  #watcher: FSWatcher | null = null;
  #debounce: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #lastHash: string | null = null;
  #checking: Promise<void> | null = null;
  #again = false;
  #closed = false;

  constructor(o: ConfigFileWatchOptions) {
    this.#o = { debounceMs: 300, pollMs: 2000, ...o };
  }

  async start(): Promise<void> {
    this.#lastHash = await this.#hash();
    try {
      this.#watcher = watch(dirname(this.#o.path), { persistent: false }, () => this.#changed());
      this.#watcher.on('error', (err) => this.#o.logger.warn({ err: err.message }, 'config file watch failed; polling only'));
    } catch (err) {
      this.#o.logger.warn({ err: (err as Error).message }, 'cannot watch the config file directory; polling only');
    }
    const poll = () => {
      this.#poll = setTimeout(() => {
        void this.#check().finally(() => !this.#closed && poll());
      }, this.#o.pollMs);
      this.#poll.unref();
    };
    poll();
    this.#o.logger.info({ file: this.#o.path }, 'watching the config file');
  }

  #changed(): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.#check(), this.#o.debounceMs);
    this.#debounce.unref();
  }

  /** Reloads when the content differs from what was last seen; one check at a time (a change during one runs another). */
  #check(): Promise<void> {
    if (this.#checking) {
      this.#again = true;
      return this.#checking;
    }
    this.#checking = (async () => {
      do {
        this.#again = false;
        const hash = await this.#hash();
        // Missing or mid-swap: wait for the next event rather than reloading a file that is not there.
        if (hash === null || hash === this.#lastHash || this.#closed) continue;
        this.#lastHash = hash;
        this.#o.logger.info({ file: this.#o.path }, 'config file changed; reloading');
        await this.#o.reload();
      } while (this.#again && !this.#closed);
    })().finally(() => (this.#checking = null));
    return this.#checking;
  }

  async #hash(): Promise<string | null> {
    try {
      return createHash('sha256').update(await readFile(this.#o.path)).digest('hex');
    } catch {
      return null;
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#debounce);
    clearTimeout(this.#poll);
    this.#watcher?.close();
  }
}
