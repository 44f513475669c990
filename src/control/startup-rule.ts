import type { VersionSummary } from './history.ts';

export interface StartupDecision {
  use: 'file' | 'persisted';
  /** One sentence for the log, naming both versions. */
  reason: string;
}

/**
 * The GitOps rule, in one place (docs/admin.md quotes it): the config file in
 * Git is the source of truth. At start the persisted state wins only when it
 * holds changes the file does not have, i.e. when its newest version was made
 * through the admin API (a write or a rollback) AND is newer than the file's
 * own `version:` (0 when the file has none). In every other case the file wins.
 *
 * `edgeplane config export` prints the effective config with `version:` set to
 * the current version, so committing it makes the file win again.
 */
export function chooseStartupConfig(fileVersion: number, head: VersionSummary | undefined): StartupDecision {
  if (!head) return { use: 'file', reason: 'no persisted state' };
  if (head.source === 'file') {
    return { use: 'file', reason: `the newest persisted version ${head.version} was itself loaded from the file, so the file is read again` };
  }
  if (head.version > fileVersion) {
    return { use: 'persisted', reason: `persisted version ${head.version} (${head.source} by ${head.author}) is newer than the file's version ${fileVersion}` };
  }
  return { use: 'file', reason: `the file's version ${fileVersion} is not older than persisted version ${head.version}` };
}

/**
 * The version a change gets: the next one, or the file's own version when that
 * is higher, so versions made after loading a file are always newer than it.
 */
export function nextVersion(current: number, fileVersion?: number): number {
  return Math.max(current + 1, fileVersion ?? 0);
}
