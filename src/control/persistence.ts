import { mkdir, open, readFile, readdir, rename, unlink, writeFile, access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { StateCorruptError, StateDirError } from './errors.ts';

/**
 * Test-only: when this environment variable names a file, every document write
 * creates that file after the temp file is written and fsynced, then waits
 * forever before the rename. The kill -9 test uses it to kill the process at
 * the one moment where a torn write could show, and checks the old version is
 * what survives. Nothing else reads it.
 */
export const PAUSE_BEFORE_RENAME_ENV = 'EDGEPLANE_TEST_PAUSE_BEFORE_RENAME';

const DOCUMENT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const TEMP_MARK = '.tmp-';

/**
 * The admin state directory (`admin.stateDir`). Each persisted document (the
 * config history today, release state later) is one JSON file in it, replaced
 * atomically: write a temp file, fsync it, rename it over the old one, fsync
 * the directory. A kill at any moment leaves either the old or the new file,
 * never a torn one; a leftover temp file from such a kill is removed on open.
 */
export class StateDir {
  readonly path: string;
  readonly #pauseMarker: string | undefined;
  readonly #documents = new Map<string, DurableDocument<unknown>>();

  private constructor(path: string, pauseMarker: string | undefined) {
    this.path = path;
    this.#pauseMarker = pauseMarker;
  }

  /** Creates the directory (0700: documents may hold operator data) and clears temp files left by a crash. */
  static async open(path: string, env: NodeJS.ProcessEnv = process.env): Promise<StateDir> {
    try {
      await mkdir(path, { recursive: true, mode: 0o700 });
      await access(path, constants.W_OK | constants.X_OK);
      for (const name of await readdir(path)) {
        if (name.startsWith('.') && name.includes(TEMP_MARK)) await unlink(join(path, name)).catch(() => {});
      }
    } catch (err) {
      throw new StateDirError(path, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
    }
    return new StateDir(path, env[PAUSE_BEFORE_RENAME_ENV] || undefined);
  }

  /** The document `<name>.json`; `parse` checks what is read and throws on anything unexpected. */
  document<T>(name: string, parse: (value: unknown) => T): DurableDocument<T> {
    if (!DOCUMENT_NAME.test(name)) throw new TypeError(`invalid state document name ${JSON.stringify(name)}`);
    const existing = this.#documents.get(name);
    if (existing) return existing as DurableDocument<T>;
    const doc = new DurableDocument<T>(this.path, name, parse, this.#pauseMarker);
    this.#documents.set(name, doc as DurableDocument<unknown>);
    return doc;
  }
}

/**
 * Reads `<dir>/<name>.json` without creating or cleaning anything (for
 * `edgeplane config export`, which must not touch a running gateway's state).
 */
export function readStateDocument<T>(dir: string, name: string, parse: (value: unknown) => T): Promise<T | undefined> {
  return new DurableDocument<T>(dir, name, parse, undefined).read();
}

export class DurableDocument<T> {
  readonly file: string;
  readonly #dir: string;
  readonly #name: string;
  readonly #parse: (value: unknown) => T;
  readonly #pauseMarker: string | undefined;
  #seq = 0;
  #writing: Promise<unknown> = Promise.resolve();

  constructor(dir: string, name: string, parse: (value: unknown) => T, pauseMarker: string | undefined) {
    this.#dir = dir;
    this.#name = name;
    this.file = join(dir, `${name}.json`);
    this.#parse = parse;
    this.#pauseMarker = pauseMarker;
  }

  /** The stored value, undefined when there is none; StateCorruptError when the file can't be used. */
  async read(): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StateDirError(this.#dir, `cannot read ${this.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new StateCorruptError(this.file, `not JSON (${(err as Error).message})`);
    }
    try {
      return this.#parse(value);
    } catch (err) {
      throw new StateCorruptError(this.file, (err as Error).message);
    }
  }

  /** Replaces the document atomically and durably. Writes are serialised, so the last call wins on disk. */
  write(value: T): Promise<void> {
    const run = this.#writing.then(() => this.#write(value));
    this.#writing = run.catch(() => {});
    return run;
  }

  /** Moves an unusable file aside (kept for the operator to inspect) so a fresh one can be written. */
  async quarantine(now: number): Promise<string> {
    const aside = `${this.file}.corrupt-${now}`;
    await rename(this.file, aside);
    await syncDirectory(this.#dir);
    return aside;
  }

  async #write(value: T): Promise<void> {
    const data = JSON.stringify(value, null, 2) + '\n';
    const tmp = join(this.#dir, `.${this.#name}.json${TEMP_MARK}${process.pid}-${++this.#seq}`);
    try {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (this.#pauseMarker) {
        await writeFile(this.#pauseMarker, tmp);
        await new Promise<never>(() => {});
      }
      await rename(tmp, this.file);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    // The rename is only durable once the directory entry is on disk too.
    await syncDirectory(this.#dir);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    // Some file systems can't fsync a directory; the rename is still atomic there.
    if (!['EINVAL', 'EISDIR', 'EPERM', 'ENOTSUP'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await fh.close();
  }
}
