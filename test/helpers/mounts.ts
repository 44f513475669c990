import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Lazily unmounts everything a container daemon left mounted under `dir`, deepest first, so its temp dir can be removed. */
export function unmountUnder(dir: string): void {
  let lines: string[];
  try {
    lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  } catch {
    return;
  }
  const points = lines.map((l) => l.split(' ')[4]).filter((p): p is string => !!p && (p === dir || p.startsWith(dir + '/')));
  for (const p of points.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', p]);
}
