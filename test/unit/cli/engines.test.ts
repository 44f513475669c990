import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repoRoot } from '../../helpers/gateway-process.ts';

// semver is in the tree already (a dependency of the dependencies); typed loosely here.
const semver = createRequire(import.meta.url)('semver') as { minVersion(range: string): { version: string } | null; satisfies(v: string, range: string): boolean };

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; engines?: unknown; dev?: boolean }> };

test('the oldest Node the engines range admits satisfies the engines of every installed package (npm ci raises no EBADENGINE)', () => {
  const oldest = semver.minVersion(pkg.engines.node)?.version;
  assert.ok(oldest, `engines.node ${pkg.engines.node} has a minimum`);
  const refusing: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    const range = (entry.engines as { node?: unknown } | undefined)?.node;
    if (!path || typeof range !== 'string') continue;
    if (!semver.satisfies(oldest, range)) refusing.push(`${path.replace(/^node_modules\//, '')}@${entry.version} needs node ${range}${entry.dev ? ' (dev)' : ''}`);
  }
  assert.deepEqual(refusing, [], `Node ${oldest} (engines ${pkg.engines.node}) is refused by`);
  assert.ok(semver.satisfies(process.version.slice(1), pkg.engines.node), `this Node ${process.version} is inside ${pkg.engines.node}`);
});

test('README states the same Node requirement as package.json', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const oldest = semver.minVersion(pkg.engines.node)!.version;
  const stated = [...readme.matchAll(/Node(?:\.js)? >= ?([0-9]+\.[0-9]+(?:\.[0-9]+)?)/g)].map((m) => m[1]);
  assert.ok(stated.length > 0, 'README names a Node version');
  for (const v of stated) assert.equal(v, oldest, `README says Node >= ${v}`);
});
