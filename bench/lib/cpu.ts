import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/**
 * Process CPU time and memory from Linux /proc. CPU time per request hardly
 * moves when other processes compete for the core (unlike req/s), so every
 * scenario that compares implementations on this shared machine reports it.
 */

let clockTicks: number | undefined;
function ticks(): number {
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return clockTicks;
}

function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** User + system CPU time of one process, in microseconds (0 once it is gone). */
export function cpuMicros(pid: number): number {
  const f = statFields(pid);
  if (!f) return 0;
  return ((Number(f[11]) + Number(f[12])) * 1e6) / ticks();
}

/** User and system CPU time of one process, in microseconds, apart ([0, 0] once it is gone). */
export function cpuSplitMicros(pid: number): [user: number, system: number] {
  const f = statFields(pid);
  if (!f) return [0, 0];
  return [(Number(f[11]) * 1e6) / ticks(), (Number(f[12]) * 1e6) / ticks()];
}

/** Live descendants of a process (nginx workers, node:cluster workers). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (!f) continue;
    const ppid = Number(f[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** CPU time of a process and its live descendants, in microseconds. */
export function treeCpuMicros(pid: number): number {
  let total = cpuMicros(pid);
  for (const c of descendants(pid)) total += cpuMicros(c);
  return total;
}

/** Resident set size in bytes (VmRSS), or 0 once the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples RSS every `everyMs` until stopped; reports the first, peak and last samples. */
export function sampleRss(pid: number, everyMs = 100): { stop(): { startBytes: number; peakBytes: number; endBytes: number; samples: number[] } } {
  const samples: number[] = [rssBytes(pid)];
  const timer = setInterval(() => samples.push(rssBytes(pid)), everyMs);
  return {
    stop() {
      clearInterval(timer);
      samples.push(rssBytes(pid));
      return { startBytes: samples[0]!, peakBytes: Math.max(...samples), endBytes: samples[samples.length - 1]!, samples };
    },
  };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
