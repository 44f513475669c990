// npm run bench [-- --only proxy,dns]    full suite, writes bench/results/latest.json
// npm run bench:ci                       short run: fails only on errors, never on speed
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { BenchResult, Scenario } from './lib/result.ts';
import { repoRoot } from './lib/edgeplane.ts';
import { which } from './lib/tools.ts';

const { values } = parseArgs({ options: { ci: { type: 'boolean', default: false }, only: { type: 'string' } } });
const only = values.only?.split(',');
const dir = join(repoRoot, 'bench/scenarios');
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''))
  .filter((n) => !only || only.includes(n))
  .sort((a, b) => (a === 'proxy' ? -1 : b === 'proxy' ? 1 : a.localeCompare(b)));

const results: BenchResult[] = [];
const crashed: string[] = [];
for (const name of names) {
  const mod = (await import(join(dir, `${name}.ts`))) as { run?: Scenario };
  if (typeof mod.run !== 'function') continue;
  console.error(`== ${name}${values.ci ? ' (ci)' : ''}`);
  try {
    const rows = await mod.run({ ci: values.ci });
    results.push(...rows);
  } catch (err) {
    crashed.push(`${name}: ${(err as Error).stack ?? err}`);
    results.push({ scenario: name, subject: '(crashed)', metric: '', value: 0, errors: 1, note: (err as Error).message.split('\n')[0] });
  }
}

const report = {
  date: new Date().toISOString(),
  mode: values.ci ? 'ci' : 'full',
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), kernel: os.release() },
  node: process.version,
  pinning: which('taskset') ? 'server on core 1; load generator and upstream on core 0 (taskset)' : 'none (taskset missing)',
  results,
};
mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
const out = join(repoRoot, 'bench/results', values.ci ? 'ci.json' : 'latest.json');
writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
console.log(table(results));
console.log(`\nwritten to ${out}`);
for (const c of crashed) console.error(`scenario crashed: ${c}`);
const failing = results.filter((r) => r.errors > 0);
if (failing.length > 0) {
  console.error(`\n${failing.length} row(s) with errors: ${failing.map((r) => `${r.scenario}/${r.subject}=${r.errors}`).join(', ')}`);
  process.exitCode = 1;
}

function table(rows: BenchResult[]): string {
  const head = ['scenario', 'subject', 'value', 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors', 'vs anchor', 'goal'];
  const body = rows.map((r) => [
    r.scenario,
    r.subject,
    r.skipped ? `skipped: ${r.skipped}` : `${fmt(r.value)} ${r.metric}`,
    fmt(r.p50Ms),
    fmt(r.p99Ms),
    fmt(r.p999Ms),
    String(r.errors),
    r.ratio !== undefined ? `${r.ratio}x ${r.anchor}` : '',
    r.goal ? `${r.goal.met ? 'met' : 'NOT met'} (${r.goal.description})` : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

function fmt(n: number | undefined): string {
  if (n === undefined) return '';
  if (n >= 100) return String(Math.round(n));
  return String(Math.round(n * 100) / 100);
}
