#!/usr/bin/env node
// Runs every test file under test/ with node:test through the tsx loader.
// Usage: node scripts/run-tests.mjs [substring filter...]
// Node 20's --test does not expand globs, so the files are listed here.
import { readdirSync, statSync, mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (/\.test\.ts$/.test(name)) out.push(p);
  }
  return out;
}

const files = walk(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const reporter = process.env.TEST_REPORTER ?? 'spec';
const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-reporter=${reporter}`, ...files];
// Every test's temp files go under one directory of this run (TMPDIR), so what a
// test leaves behind is found here even while other runs share the machine.
// Readable by other users: the keepalived test runs scripts as keepalived_script.
const runTmp = mkdtempSync(join(tmpdir(), 'edgeplane-tests-'));
chmodSync(runTmp, 0o755);
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, TMPDIR: runTmp, EDGEPLANE_LOG_LEVEL: process.env.EDGEPLANE_LOG_LEVEL ?? 'silent' } });
child.on('exit', (code, signal) => {
  let status = signal ? 1 : code ?? 1;
  // tsx keeps its compile cache in TMPDIR; that one is expected.
  const leftovers = readdirSync(runTmp).filter((name) => !/^tsx-/.test(name));
  if (leftovers.length > 0) {
    console.error(`\n${leftovers.length} temp file(s) left behind by the tests (each test must remove what it creates; test/helpers/temp-dir.ts does it at exit):\n${leftovers.map((n) => `  ${n}`).join('\n')}`);
    if (status === 0) status = 1;
  }
  if (process.env.EDGEPLANE_KEEP_TEST_TMP) console.error(`test temp files kept in ${runTmp}`);
  else rmSync(runTmp, { recursive: true, force: true, maxRetries: 3 });
  process.exit(status);
});
