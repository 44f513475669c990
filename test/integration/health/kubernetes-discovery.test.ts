import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubernetesSource } from '../../../src/discovery/kubernetes.ts';
import { loadKubeCredentials } from '../../../src/discovery/kube-credentials.ts';
import { EndpointTable } from '../../../src/health/endpoint-table.ts';
import { systemClock } from '../../../src/util/clock.ts';
import { seededRng } from '../../../src/util/rng.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { repoRoot } from '../../helpers/gateway-process.ts';
import { waitFor } from '../../helpers/wait.ts';
import { slice } from '../../unit/discovery/fixtures.ts';
import { FakeKubeApi } from './fake-kube-api.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeplane-k8s-'));
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

async function fakeApi(tls?: { cert: Buffer; key: Buffer }): Promise<FakeKubeApi> {
  const api = new FakeKubeApi('prod', 'api');
  await api.listen(tls);
  cleanups.push(() => api.close());
  return api;
}

function kubeconfig(api: FakeKubeApi, token: string): string {
  const path = join(dir, `kubeconfig-${api.port}`);
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
current-context: test
clusters: [ { name: c, cluster: { server: "${api.url()}" } } ]
users: [ { name: u, user: { token: ${token} } } ]
contexts: [ { name: test, context: { cluster: c, user: u } } ]
`,
  );
  return path;
}

function source(api: FakeKubeApi, options: { token?: string; port?: number | string; pageSize?: number } = {}) {
  const sets: string[][] = [];
  const kc = kubeconfig(api, options.token ?? 'sekret');
  const src = new KubernetesSource({
    cluster: `k8s-${api.port}`,
    namespace: 'prod',
    service: 'api',
    port: options.port,
    credentials: () => loadKubeCredentials({ baseDir: dir, kubeconfig: kc }),
    clock: systemClock,
    rng: seededRng(4),
    logger: silentLogger,
    watchTimeoutSeconds: 60,
    ...(options.pageSize ? { pageSize: options.pageSize } : {}),
  });
  src.start({ endpoints: (a) => sets.push([...a]) });
  cleanups.push(() => src.stop());
  return { src, sets, last: () => sets.at(-1) };
}

const ready = (...ips: string[]) => ips.map((ip) => ({ ip }));

test('list, then watch: ready endpoints only, following ADDED / MODIFIED / DELETED', async () => {
  const api = await fakeApi();
  api.token = 'sekret';
  api.put(slice('api-a', [{ ip: '10.1.0.1' }, { ip: '10.1.0.2' }, { ip: '10.1.0.3', ready: false }]));
  api.put(slice('other-svc', ready('10.9.9.9'))); // same label? no: different service below
  api.slices.get('other-svc')!.metadata.labels!['kubernetes.io/service-name'] = 'other';
  const { src, last } = source(api);
  await waitFor(() => last()?.length === 2, { what: 'the listed set' });
  assert.deepEqual(last(), ['10.1.0.1:8080', '10.1.0.2:8080']);
  assert.equal(api.requests[0]!.authorization, 'Bearer sekret');
  assert.equal(api.requests[0]!.labelSelector, 'kubernetes.io/service-name=api');
  await waitFor(() => api.openWatches === 1, { what: 'the watch' });
  assert.equal(api.requests.find((r) => r.watch)!.resourceVersion, String(api.rv), 'watch starts from the list resourceVersion');

  api.put(slice('api-b', ready('10.1.1.1')));
  await waitFor(() => last()?.includes('10.1.1.1:8080'), { what: 'ADDED' });
  api.put(slice('api-a', [{ ip: '10.1.0.1' }, { ip: '10.1.0.2', ready: false, terminating: true }, { ip: '10.1.0.3' }]));
  await waitFor(() => last()?.join() === '10.1.0.1:8080,10.1.0.3:8080,10.1.1.1:8080', { what: 'MODIFIED' });
  api.delete('api-b');
  await waitFor(() => last()?.join() === '10.1.0.1:8080,10.1.0.3:8080', { what: 'DELETED' });
  api.bookmark();
  await waitFor(() => src.resourceVersion === String(api.rv), { what: 'the bookmark to advance the resourceVersion' });
  assert.equal(src.lists, 1, 'one list, then only the watch');
  assert.equal(src.status().ok, true);
});

test('a dropped watch resumes from the last resourceVersion without losing events', async () => {
  const api = await fakeApi();
  api.put(slice('api-a', ready('10.2.0.1')));
  const { src, last } = source(api);
  await waitFor(() => api.openWatches === 1);
  const seenRv = src.resourceVersion;
  api.dropWatches();
  // Changes while the client is disconnected.
  api.put(slice('api-a', ready('10.2.0.1', '10.2.0.2')));
  api.put(slice('api-c', ready('10.2.0.3')));
  await waitFor(() => last()?.join() === '10.2.0.1:8080,10.2.0.2:8080,10.2.0.3:8080', { what: 'the events made while disconnected' });
  const rewatch = api.requests.filter((r) => r.watch)[1]!;
  assert.equal(rewatch.resourceVersion, seenRv, 'resumed from where it was');
  assert.equal(src.lists, 1, 'no re-list needed');
});

test('410 Gone (ERROR event, as the API server sends it) makes it list again', async () => {
  const api = await fakeApi();
  api.put(slice('api-a', ready('10.3.0.1')));
  const { src, last } = source(api);
  await waitFor(() => api.openWatches === 1);
  api.dropWatches();
  api.put(slice('api-a', ready('10.3.0.2')));
  api.compact(); // the event above is gone from history too
  await waitFor(() => src.lists === 2, { what: 'a re-list after 410' });
  await waitFor(() => last()?.join() === '10.3.0.2:8080', { what: 'the re-listed state' });
  await waitFor(() => api.openWatches === 1, { what: 'watching again' });
  api.put(slice('api-a', ready('10.3.0.3')));
  await waitFor(() => last()?.join() === '10.3.0.3:8080');
});

test('410 as an HTTP status on the watch also re-lists; paged lists follow continue tokens', async () => {
  const api = await fakeApi();
  api.goneAsHttpStatus = true;
  for (const n of ['a', 'b', 'c']) api.put(slice(`api-${n}`, ready(`10.4.0.${n.charCodeAt(0) - 96}`)));
  const { src, last } = source(api, { pageSize: 1 });
  await waitFor(() => last()?.length === 3, { what: 'all three pages' });
  assert.deepEqual(api.requests.filter((r) => !r.watch).map((r) => r.limit), ['1', '1', '1']);
  assert.equal(api.requests.filter((r) => r.continue).length, 2);
  await waitFor(() => api.openWatches === 1);
  api.dropWatches();
  api.delete('api-c');
  api.compact();
  await waitFor(() => src.lists === 2, { what: 'a re-list after HTTP 410' });
  await waitFor(() => last()?.length === 2, { what: 'the re-listed state' });
});

test('rejected credentials and garbage in the stream: the last set stays, the status says why, it recovers', async () => {
  const api = await fakeApi();
  api.token = 'sekret';
  api.put(slice('api-a', ready('10.5.0.1')));
  const { src, sets, last } = source(api);
  await waitFor(() => api.openWatches === 1);
  api.writeToWatches('this is not json\n');
  await waitFor(() => !src.status().ok, { what: 'the format failure' });
  assert.match(src.status().error!, /not JSON/);
  await waitFor(() => src.status().ok && api.openWatches === 1, { what: 'recovery by re-watching' });
  api.token = 'rotated';
  api.dropWatches();
  await waitFor(() => /401 \(credentials rejected\)/.test(src.status().error ?? ''), { what: 'the 401 in the status' });
  assert.equal(src.status().ok, false);
  assert.deepEqual(last(), ['10.5.0.1:8080'], 'last known set kept');
  api.token = 'sekret';
  await waitFor(() => src.status().ok && api.openWatches === 1, { what: 'recovery', timeoutMs: 20_000 });
  assert.equal(sets.length, 1, 'the set never changed');
});

test('in-cluster credentials over TLS: service account token and CA, host and port from the environment', async () => {
  const api = await fakeApi({ cert: readFileSync(join(repoRoot, 'certs-dev/server.crt')), key: readFileSync(join(repoRoot, 'certs-dev/server.key')) });
  api.token = 'pod-token';
  api.put(slice('api-a', ready('10.6.0.1')));
  const sa = join(dir, 'serviceaccount');
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, 'token'), 'pod-token');
  writeFileSync(join(sa, 'ca.crt'), readFileSync(join(repoRoot, 'certs-dev/ca.crt')));
  const sets: string[][] = [];
  const src = new KubernetesSource({
    cluster: 'k8s-incluster',
    namespace: 'prod',
    service: 'api',
    port: 'http',
    credentials: () => loadKubeCredentials({ baseDir: dir, env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(api.port) }, serviceAccountDir: sa }),
    clock: systemClock,
    rng: seededRng(5),
    logger: silentLogger,
  });
  src.start({ endpoints: (a) => sets.push([...a]) });
  cleanups.push(() => src.stop());
  await waitFor(() => sets.length === 1, { what: 'the set over TLS' });
  assert.deepEqual(sets[0], ['10.6.0.1:8080']);
});

test('through the endpoint table: a cluster with kubernetes discovery gets its endpoints from the watch', async () => {
  const api = await fakeApi();
  api.put(slice('api-a', ready('127.0.0.1'), [{ name: 'http', port: 18080 }]));
  const kc = kubeconfig(api, 'x');
  const table = new EndpointTable({ baseDir: dir, rng: seededRng(6) });
  cleanups.push(() => table.close());
  table.update([{ name: 'k8s', discovery: { kubernetes: { namespace: 'prod', service: 'api', port: 'http', kubeconfig: kc } } }]);
  await waitFor(() => table.cluster('k8s')!.endpoints.length === 1, { what: 'discovered endpoint' });
  assert.equal(table.cluster('k8s')!.endpoints[0]!.address, '127.0.0.1:18080');
  api.put(slice('api-a', [{ ip: '127.0.0.1', ready: false }], [{ name: 'http', port: 18080 }]));
  await waitFor(() => table.cluster('k8s')!.available === false, { what: 'no ready endpoint left' });
  const rep = table.healthReport().clusters[0]!;
  assert.equal(rep.discovery.source, 'kubernetes');
  assert.equal(rep.total, 0);
  assert.equal(rep.endpoints[0]!.state, 'draining');
});
