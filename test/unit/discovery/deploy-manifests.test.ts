import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { validateConfig } from '../../../src/config/load.ts';
import { repoRoot } from '../../helpers/gateway-process.ts';

const k8s = (f: string) => readFileSync(join(repoRoot, 'deploy/k8s', f), 'utf8');

test('the RBAC manifests grant exactly get/list/watch on EndpointSlices to the edgeplane service account', () => {
  for (const file of ['rbac.yaml', 'rbac-clusterwide.yaml']) {
    const docs = parseAllDocuments(k8s(file)).map((d) => d.toJS() as { kind: string; rules?: unknown[]; subjects?: { name: string }[]; roleRef?: { name: string } });
    const role = docs.find((d) => d.kind === 'Role' || d.kind === 'ClusterRole')!;
    assert.deepEqual(role.rules, [{ apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] }], file);
    const binding = docs.find((d) => d.kind.endsWith('Binding'))!;
    assert.equal(binding.subjects![0]!.name, 'edgeplane');
    assert.equal(binding.roleRef!.name, (role as unknown as { metadata: { name: string } }).metadata.name);
  }
});

test('the example discovery fragment is valid config', () => {
  const fragment = parse(k8s('example-discovery.yaml')) as { clusters: unknown[] };
  validateConfig({ node: { id: 'gw', region: 'jp' }, listeners: [], routes: [], clusters: fragment.clusters });
});
