import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderConfigStatus } from '../../../src/cli/fleet.ts';

const base = {
  node: { id: 'gw-b', region: 'jp' },
  version: 7,
  store: { kind: 'etcd', up: true, storeVersion: 7, location: 'http://127.0.0.1:2379 /edgeplane/prod', refused: null },
  nodes: [
    { id: 'gw-a', region: 'jp', version: 7, refused: null },
    { id: 'gw-b', region: 'jp', version: 7, refused: null },
  ],
};

test('edgeplane fleet names the release driver and marks its row', () => {
  const out = renderConfigStatus({ ...base, releases: { mode: 'fleet', driving: false, driver: { id: 'gw-a', since: '2026-01-01T00:00:00.000Z', revision: 42 } } });
  assert.match(out, /releases: driven by gw-a \(since 2026-01-01T00:00:00.000Z, leader revision 42\)\n/);
  const rows = out.split('\n');
  assert.match(rows.find((l) => l.startsWith('gw-a'))!, /current, drives releases/);
  assert.doesNotMatch(rows.find((l) => l.startsWith('gw-b'))!, /drives/);
});

test('edgeplane fleet says when no node drives (an election in progress), and nothing with the file store', () => {
  assert.match(renderConfigStatus({ ...base, releases: { mode: 'fleet', driving: false, driver: null } }), /releases: driven by NO NODE \(election in progress\)/);
  assert.doesNotMatch(renderConfigStatus({ ...base, store: { ...base.store, kind: 'file' }, nodes: null, releases: { mode: 'local', driving: true, driver: null } }), /releases:/);
});
