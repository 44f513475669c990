import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/util/errors.ts';
import { parseDuration } from '../../../src/util/duration.ts';
import { cliPath, repoRoot } from '../../helpers/gateway-process.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const base = `node: { id: gw-1, region: jp }
listeners:
  - { name: http, address: 127.0.0.1:8080, protocol: http }
clusters:
  - name: blue
    endpoints: [127.0.0.1:9101]
routes:
  - name: api
    match: { hosts: [api.svc.plus], path: { prefix: / } }
    split: [ { cluster: blue, weight: 100 } ]
`;

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}) {
  try {
    parseConfig(text, { env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues;
  }
  assert.fail('expected a ConfigError');
}

test('a valid config parses and keeps its values', () => {
  const c = parseConfig(base, { env: {} });
  assert.equal(c.routes[0]!.split[0]!.cluster, 'blue');
  assert.equal(c.listeners[0]!.address, '127.0.0.1:8080');
});

test('unknown keys are errors with path and line', () => {
  const issues = issuesOf(base.replace('protocol: http }', 'protocol: http, colour: red }'));
  assert.deepEqual(issues, [{ path: 'listeners[0].colour', message: 'unknown key "colour"', line: 3 }]);
});

test('every error is reported at once, each with its line', () => {
  const text = base
    .replace('protocol: http }', 'protocol: htp }')
    .replace('weight: 100', 'weight: -1')
    .replace('endpoints: [127.0.0.1:9101]', 'endpoints: [127.0.0.1:9101]\n    loadBalancer: random');
  const issues = issuesOf(text);
  const byPath = new Map(issues.map((i) => [i.path, i]));
  assert.equal(byPath.get('listeners[0].protocol')?.line, 3);
  assert.match(byPath.get('listeners[0].protocol')!.message, /must be one of "http", "https"/);
  assert.equal(byPath.get('clusters[0].loadBalancer')?.line, 7);
  assert.equal(byPath.get('routes[0].split[0].weight')?.line, 11);
  assert.equal(issues.length, 3);
});

test('cross-checks: unknown cluster, zero total weight, duplicate names, bad regex', () => {
  const text = base
    .replace('split: [ { cluster: blue, weight: 100 } ]', 'split: [ { cluster: green, weight: 0 } ]')
    .replace('path: { prefix: / }', 'path: { regex: "(" }')
    .replace('  - name: blue\n    endpoints: [127.0.0.1:9101]', '  - name: blue\n    endpoints: [127.0.0.1:9101]\n  - name: blue\n    endpoints: [127.0.0.1:9102]');
  const messages = issuesOf(text).map((i) => `${i.path}: ${i.message}`);
  assert.ok(messages.some((m) => m.startsWith('clusters[1].name: duplicate cluster name "blue"')), messages.join('\n'));
  assert.ok(messages.some((m) => m.startsWith('routes[0].split[0].cluster: unknown cluster "green"')));
  assert.ok(messages.some((m) => m.startsWith("routes[0].split: the split's weights must add up to more than 0")));
  assert.ok(messages.some((m) => m.startsWith('routes[0].match.path.regex: invalid regular expression')));
});

test('durations must be strings with a unit', () => {
  const issues = issuesOf(base.replace("split: [ { cluster: blue, weight: 100 } ]", 'split: [ { cluster: blue, weight: 100 } ]\n    timeout: 15 seconds'));
  assert.equal(issues[0]!.path, 'routes[0].timeout');
  assert.match(issues[0]!.message, /duration such as 250ms/);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('250ms'), 250);
});

test('${ENV} interpolation, defaults, and a missing variable is an error naming the path', () => {
  const text = base.replace('address: 127.0.0.1:8080', 'address: "${BIND_ADDR}"').replace('id: gw-1', 'id: "${NODE_ID:-gw-default}"');
  const c = parseConfig(text, { env: { BIND_ADDR: '127.0.0.1:9999' } });
  assert.equal(c.listeners[0]!.address, '127.0.0.1:9999');
  assert.equal(c.node.id, 'gw-default');
  const issues = issuesOf(text, {});
  assert.equal(issues[0]!.path, 'listeners[0].address');
  assert.match(issues[0]!.message, /BIND_ADDR is not set/);
  assert.equal(issues[0]!.line, 3);
});

test('YAML syntax errors and duplicate keys are reported with a line', () => {
  const issues = issuesOf('node: { id: a, region: b }\nnode: { id: c, region: d }\n');
  assert.equal(issues[0]!.line, 2);
  assert.match(issues[0]!.message, /YAML/);
});

test('edgeplane validate exits 1 with "FILE: path (line N): message" lines, 0 on a good file', () => {
  const dir = tempDir('edgeplane-validate-');
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, base.replace('protocol: http }', 'protocol: http, colour: red }'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', cliPath, 'validate', bad], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: listeners\\[0\\]\\.colour \\(line 3\\): unknown key "colour"$`, 'm'));
  const good = join(dir, 'good.yaml');
  writeFileSync(good, base);
  const ok = spawnSync(process.execPath, ['--import', 'tsx', cliPath, 'validate', good, join(repoRoot, 'examples/demo.yaml')], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
});
