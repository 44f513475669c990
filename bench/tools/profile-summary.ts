/**
 * Summarises a .cpuprofile (node --cpu-prof): top functions by self time and
 * by inclusive time, so a hot-path change can be argued from numbers in a
 * terminal. Usage: npx tsx bench/tools/profile-summary.ts FILE [--top 40] [--filter substring] [--by-file]
 *   [--from-first onStreamRead] (skip start-up samples) [--requests N] (us per request)
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' }, filter: { type: 'string' }, callers: { type: 'string' }, requests: { type: 'string' }, interval: { type: 'string', default: '1000' }, 'by-file': { type: 'boolean', default: false }, 'from-first': { type: 'string' } } });
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const key = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(node_modules\/|src\/|dist\/)/, '$1')}:${n.callFrame.lineNumber + 1}`;
// With --requests N, values are microseconds per request, not percentages: each busy sample counts as one
// sampling interval (--cpu-prof-interval, 1000 us by default). timeDeltas are not used because on a
// contended core they include the time the process was not running.
const perRequest = values.requests ? Number(values.requests) : 0;
const intervalUs = Number(values.interval);
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
const callers = new Map<string, number>();
const byFile = new Map<string, number>();
// --from-first FN: samples before the first one with FN on its stack (start-up: module loading, config
// validation) are left out, so --requests divides only the load window's work.
let first = 0;
if (values['from-first']) {
  const fn = values['from-first'];
  first = profile.samples.findIndex((id) => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) if (byId.get(cur)!.callFrame.functionName === fn) return true;
    return false;
  });
  if (first < 0) first = 0;
}
for (let si = first; si < profile.samples.length; si++) {
  const id = profile.samples[si]!;
  const w = perRequest ? intervalUs / perRequest : 1;
  const n = byId.get(id)!;
  // Idle time is not the server's cost: percentages are of busy samples.
  if (n.callFrame.functionName === '(idle)') continue;
  total += w;
  if (values.callers && key(n).startsWith(values.callers)) {
    const chain: string[] = [];
    for (let cur = parent.get(id); cur !== undefined && chain.length < 4; cur = parent.get(cur)) chain.push(key(byId.get(cur)!));
    const c = chain.join(' < ');
    callers.set(c, (callers.get(c) ?? 0) + w);
  }
  self.set(key(n), (self.get(key(n)) ?? 0) + w);
  const file = n.callFrame.url === '' ? '(native)' : n.callFrame.url.replace(/^.*\/(node_modules\/|src\/|dist\/)/, '$1');
  byFile.set(file, (byFile.get(file) ?? 0) + w);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(byId.get(cur)!);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + w);
  }
}
const top = Number(values.top);
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (${perRequest ? `${total.toFixed(1)} us per request` : `${total} samples`})`);
  [...m]
    .filter(([k]) => !values.filter || k.includes(values.filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([k, v]) => console.log(`${(perRequest ? v.toFixed(2) : ((100 * v) / total).toFixed(1) + '%').padStart(6)}  ${k}`));
};
show('self', self);
show('inclusive', inclusive);
if (values['by-file']) show('self by file', byFile);
if (values.callers) show(`callers of ${values.callers}`, callers);
