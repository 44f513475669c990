import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { repoRoot } from '../../helpers/gateway-process.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { parseHostPort } from '../../../src/util/address.ts';

const base = join(repoRoot, 'deploy/k8s/base');
const require = createRequire(import.meta.url);

interface K8sObject { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: any; data?: Record<string, string> }

/** Validates an object against the Kubernetes OpenAPI schema of its apiVersion and kind (kubernetes-models). */
function validateK8s(obj: K8sObject): void {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const dir = group === '' ? version : `${group!.replace(/\.k8s\.io$/, '.k8s.io')}/${version}`;
  const mod = require(`kubernetes-models/${dir}/${obj.kind}`) as Record<string, new (o: unknown) => { validate(): void }>;
  const Model = mod[obj.kind];
  assert.ok(Model, `kubernetes-models has ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}

function filesOfBase(): { kustomization: any; objects: K8sObject[] } {
  const kustomization = parse(readFileSync(join(base, 'kustomization.yaml'), 'utf8'));
  const objects = (kustomization.resources as string[]).flatMap((f) => parseAllDocuments(readFileSync(join(base, f), 'utf8')).map((d) => d.toJS() as K8sObject));
  return { kustomization, objects };
}

/** What the base must hold, whichever way it is read (its files, or kubectl kustomize's output). */
function checkManifests(objects: K8sObject[], configText: string): void {
  for (const o of objects) validateK8s(o);
  const one = (kind: string, name?: string) => {
    const found = objects.filter((o) => o.kind === kind && (!name || o.metadata.name === name));
    assert.equal(found.length, 1, `one ${kind}${name ? ` ${name}` : ''}`);
    return found[0]!;
  };
  const deployment = one('Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c: any) => c.name === 'edgeplane');
  const labels = deployment.spec.template.metadata.labels;
  const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  assert.ok(selects(deployment.spec.selector.matchLabels), 'the Deployment selects its own pods');

  // The config the ConfigMap carries is a valid edgeplane config, and the pod matches it.
  const config = parseConfig(configText, { env: { POD_NAME: 'edgeplane-0', EDGEPLANE_ADMIN_TOKEN: 'k8s-test-token' }, name: 'edgeplane.yaml' });
  const ports = new Map<string, number>(container.ports.map((p: any) => [p.name, p.containerPort]));
  const adminPort = parseHostPort(config.admin!.address!).port;
  assert.equal(ports.get('admin'), adminPort, 'containerPort admin is the config\'s admin port');
  for (const l of config.listeners) assert.equal(ports.get(l.name), parseHostPort(l.address).port, `containerPort ${l.name} is listener ${l.name}'s port`);
  for (const l of config.listeners) assert.notEqual(parseHostPort(l.address).host, '127.0.0.1', `listener ${l.name} is reachable from the Service`);

  // Probes: readiness is /readyz (turns 503 at SIGTERM), on the admin port.
  assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  assert.equal(container.livenessProbe.httpGet.path, '/healthz');
  for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
    const p = probe.httpGet.port;
    assert.equal(typeof p === 'string' ? ports.get(p) : p, adminPort, 'probes go to the admin listener');
  }
  // The drain fits the grace period, and readiness fails before the listeners stop accepting.
  const seconds = (d: string) => Number(/^([0-9.]+)(ms|s|m)$/.exec(d)![1]) * ({ ms: 0.001, s: 1, m: 60 } as Record<string, number>)[/^[0-9.]+(ms|s|m)$/.exec(d)![1]!]!;
  const delay = seconds(config.drain?.delay ?? '5s');
  const timeout = seconds(config.drain?.timeout ?? '30s');
  assert.ok(pod.terminationGracePeriodSeconds > delay + timeout, `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} > drain ${delay}+${timeout}`);
  assert.ok(delay >= container.readinessProbe.periodSeconds * container.readinessProbe.failureThreshold, 'drain.delay outlasts the readiness probe\'s detection');
  assert.ok(container.env.some((e: any) => e.name === 'EDGEPLANE_ADMIN_TOKEN' && e.valueFrom?.secretKeyRef), 'the admin token comes from a Secret');

  // Non-root, as the image.
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.runAsUser, 1000);
  assert.equal(container.securityContext.allowPrivilegeEscalation, false);

  // The Services and the PDB select the Deployment's pods; Service target ports exist on the pod.
  for (const svc of objects.filter((o) => o.kind === 'Service')) {
    assert.ok(selects(svc.spec.selector), `Service ${svc.metadata.name} selects the gateway pods`);
    for (const p of svc.spec.ports) assert.ok(typeof p.targetPort === 'number' || ports.has(p.targetPort), `Service ${svc.metadata.name} port ${p.name}: targetPort ${p.targetPort} is a pod port`);
  }
  const pdb = one('PodDisruptionBudget');
  assert.equal(pdb.apiVersion, 'policy/v1');
  assert.ok(selects(pdb.spec.selector.matchLabels), 'the PDB selects the gateway pods');
  assert.ok(deployment.spec.replicas > (pdb.spec.minAvailable ?? 0), 'the PDB allows a disruption');

  const mount = container.volumeMounts.find((m: any) => m.name === 'config');
  assert.equal(mount.mountPath, '/etc/edgeplane');
  assert.ok(container.args.includes('/etc/edgeplane/edgeplane.yaml'));
}

test('the Kustomize base: every object is valid against the Kubernetes schemas, and the pod, probes and Services agree with the edgeplane config', () => {
  const { kustomization, objects } = filesOfBase();
  const configFile = kustomization.configMapGenerator[0].files[0] as string;
  checkManifests(objects, readFileSync(join(base, configFile), 'utf8'));
  const volume = objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.volumes.find((v: any) => v.name === 'config');
  assert.equal(volume.configMap.name, kustomization.configMapGenerator[0].name, 'the pod mounts the generated ConfigMap');
});

test('kubectl kustomize renders the base into the same valid objects (hash-suffixed ConfigMap wired into the pod)', (t) => {
  const kubectl = spawnSync('kubectl', ['kustomize', base], { encoding: 'utf8', timeout: 120_000 });
  if (kubectl.error || kubectl.status === null) {
    t.skip(`kubectl is not installed (Debian: apt-get install kubernetes-client): ${kubectl.error?.message ?? 'no status'}`);
    return;
  }
  assert.equal(kubectl.status, 0, kubectl.stderr);
  const objects = parseAllDocuments(kubectl.stdout).map((d) => d.toJS() as K8sObject);
  for (const o of objects) if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'edgeplane', `${o.kind} ${o.metadata.name} is namespaced`);
  const configMap = objects.find((o) => o.kind === 'ConfigMap')!;
  assert.match(configMap.metadata.name, /^edgeplane-config-[a-z0-9]{10}$/);
  const deployment = objects.find((o) => o.kind === 'Deployment')!;
  assert.equal(deployment.spec.template.spec.volumes.find((v: any) => v.name === 'config').configMap.name, configMap.metadata.name);
  assert.match(deployment.spec.template.spec.containers[0].image, /^edgeplane:[0-9]+\.[0-9]+\.[0-9]+$/);
  checkManifests(objects, configMap.data!['edgeplane.yaml']!);
});

test('the RBAC and discovery examples beside the base are valid too', () => {
  for (const f of ['rbac.yaml', 'rbac-clusterwide.yaml']) {
    for (const d of parseAllDocuments(readFileSync(join(repoRoot, 'deploy/k8s', f), 'utf8'))) validateK8s(d.toJS() as K8sObject);
  }
});
