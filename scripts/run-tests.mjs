#!/usr/bin/env node
// Runs every test file under test/ with node:test through the tsx loader.
// Usage: node scripts/run-tests.mjs [substring filter...]
// Node 20's --test does not expand globs, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
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
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, EDGEPLANE_LOG_LEVEL: process.env.EDGEPLANE_LOG_LEVEL ?? 'silent' } });
child.on('exit', (code, signal) => process.exit(signal ? 1 : code ?? 1));
