// npm run bench [-- --only proxy,dns]    full suite, writes bench/results/latest.json
// npm run bench:ci                       short run: fails only on errors, never on speed
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { BenchResult, Scenario } from './lib/result.ts';
import { repoRoot } from './lib/edgeplane.ts';
import { canPin } from './lib/tools.ts';
import { spawnSync } from 'node:child_process';

const { values } = parseArgs({ options: { ci: { type: 'boolean', default: false }, only: { type: 'string' } } });
const only = values.only?.split(',');
const dir = join(repoRoot, 'bench/scenarios');
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''))
  .filter((n) => !only || only.includes(n))
  .sort((a, b) => (a === 'proxy' ? -1 : b === 'proxy' ? 1 : a.localeCompare(b)));

// The runner itself generates load in some scenarios (bulk transfers, the open-loop client when it runs
// in-process): it belongs on the load generator's core, away from the server under test (core 1).
if (canPin()) spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });

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

const goals = goalSummary(results);
const report = {
  date: new Date().toISOString(),
  mode: values.ci ? 'ci' : 'full',
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), kernel: os.release() },
  node: process.version,
  pinning: canPin() ? 'server on core 1; load generator and upstream on core 0 (taskset)' : 'none (taskset missing or a single core)',
  goals,
  results,
};
mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
const out = join(repoRoot, 'bench/results', values.ci ? 'ci.json' : 'latest.json');
writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
console.log(table(results));
console.log(`\nGoals (${values.ci ? 'ci run: short, for errors; speed goals are only indicative' : 'full run'}):`);
for (const g of goals) console.log(`  ${g.status.padEnd(12)} ${g.goal}: ${g.detail}`);
console.log(`\nwritten to ${out}`);
for (const c of crashed) console.error(`scenario crashed: ${c}`);
const failing = results.filter((r) => r.errors > 0);
if (failing.length > 0) {
  console.error(`\n${failing.length} row(s) with errors: ${failing.map((r) => `${r.scenario}/${r.subject}=${r.errors}`).join(', ')}`);
  process.exitCode = 1;
}

/**
 * The issue's goals, each stated as met / NOT met / not measured (with the
 * reason: a skipped anchor or scenario), followed by any other row that
 * carries a goal.
 */
function goalSummary(rows: BenchResult[]): { goal: string; status: 'met' | 'NOT met' | 'not measured'; detail: string }[] {
  const wanted: { goal: string; scenario: string; subject: string | RegExp }[] = [
    { goal: 'proxy >= 0.5x nginx req/s', scenario: 'proxy', subject: 'edgeplane' },
    { goal: 'proxy >= 3x stock @fastify/http-proxy', scenario: 'proxy', subject: 'edgeplane vs stock' },
    { goal: 'JWT cached >= 0.9x no-JWT', scenario: 'jwt', subject: /\(cache on\)$/ },
    { goal: 'TLS >= 0.5x nginx TLS', scenario: 'proxy-tls', subject: 'edgeplane' },
    { goal: 'DNS >= 0.5x knotd qps', scenario: 'dns', subject: 'edgeplane' },
    { goal: 'p99 added at 50% load <= 1 ms', scenario: 'latency', subject: 'edgeplane p99 added' },
    { goal: 'large body: RSS growth < 50 MB', scenario: 'large-body', subject: /RSS growth$/ },
    { goal: 'soak: no RSS growth trend', scenario: 'soak', subject: 'edgeplane RSS trend' },
  ];
  const out: { goal: string; status: 'met' | 'NOT met' | 'not measured'; detail: string }[] = [];
  const used = new Set<BenchResult>();
  for (const w of wanted) {
    if (!names.includes(w.scenario)) continue; // not selected with --only
    const inScenario = rows.filter((r) => r.scenario === w.scenario);
    const matches = inScenario.filter((r) => r.goal && (typeof w.subject === 'string' ? r.subject === w.subject : w.subject.test(r.subject)));
    matches.forEach((r) => used.add(r));
    if (matches.length === 0) {
      const why = inScenario.find((r) => r.skipped)?.skipped ?? (inScenario.length === 0 ? 'scenario produced no rows (crashed?)' : 'anchor not measured');
      out.push({ goal: w.goal, status: 'not measured', detail: why });
      continue;
    }
    const met = matches.every((r) => r.goal!.met);
    const detail = matches.map((r) => `${r.subject} ${r.ratio !== undefined ? `${r.ratio}x ${r.anchor}` : `${fmt(r.value)} ${r.metric}`}`).join('; ');
    out.push({ goal: w.goal, status: met ? 'met' : 'NOT met', detail });
  }
  for (const r of rows) {
    if (!r.goal || used.has(r)) continue;
    out.push({ goal: `${r.scenario}: ${r.goal.description}`, status: r.goal.met ? 'met' : 'NOT met', detail: `${r.subject} ${r.ratio !== undefined ? `${r.ratio}x ${r.anchor}` : `${fmt(r.value)} ${r.metric}`}` });
  }
  return out;
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
