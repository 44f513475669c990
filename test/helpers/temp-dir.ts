import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created = new Set<string>();
let hooked = false;

/**
 * A fresh directory under the OS temp dir, removed when the test process
 * exits (node:test runs each file in its own process). Removing at exit rather
 * than in `after` keeps directories a test reuses across a gateway restart.
 */
export function tempDir(prefix = 'edgeplane-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.add(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', removeTempDirs);
  }
  return dir;
}

/** Removes every directory tempDir made (also called at exit). */
export function removeTempDirs(): void {
  for (const dir of created) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // a directory still busy (a child that outlived the test) is reported by the runner's check
    }
    created.delete(dir);
  }
}
