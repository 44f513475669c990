import { spawnSync } from 'node:child_process';
import os from 'node:os';

const installed = new Map<string, string | null>();

/**
 * Makes sure a Debian-packaged tool is present: installs the package when run as
 * root, otherwise returns the reason it is missing (the caller skips that row
 * and says so; nothing is skipped silently).
 */
export function ensureTool(binary: string, debianPackage: string): string | null {
  const key = `${binary}|${debianPackage}`;
  if (installed.has(key)) return installed.get(key)!;
  let reason: string | null = null;
  if (!which(binary)) {
    if (process.getuid?.() === 0 && which('apt-get')) {
      const r = spawnSync('sh', ['-c', `DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${debianPackage} >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${debianPackage} >/dev/null 2>&1)`], { stdio: 'inherit' });
      if (r.status !== 0 || !which(binary)) reason = `could not install Debian package ${debianPackage}`;
    } else {
      reason = `${binary} missing: install the Debian package ${debianPackage} (or run the benchmark as root to have it installed)`;
    }
  }
  installed.set(key, reason);
  return reason;
}

export function which(binary: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** CPU pinning prefix: server on core 1, load generator and upstream on core 0 (when taskset and 2+ cores exist). */
export function pin(core: number | readonly number[]): string[] {
  return canPin() ? ['taskset', '-c', typeof core === 'number' ? String(core) : core.join(',')] : [];
}

let pinnable: boolean | undefined;
/** taskset exists and there are at least two cores to keep server and load apart. */
export function canPin(): boolean {
  pinnable ??= which('taskset') !== null && os.cpus().length >= 2;
  return pinnable;
}
