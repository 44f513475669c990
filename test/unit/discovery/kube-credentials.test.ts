import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKubeCredentials } from '../../../src/discovery/kube-credentials.ts';
import { DiscoveryError } from '../../../src/discovery/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeplane-kube-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sa = join(dir, 'sa');
mkdirSync(sa);
writeFileSync(join(sa, 'token'), 'sa-token-1\n');
writeFileSync(join(sa, 'ca.crt'), 'CA PEM');

test('in-cluster: service host/port from the environment, token and CA from the service account; the token is re-read', () => {
  const c = loadKubeCredentials({ baseDir: dir, env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: sa });
  assert.equal(c.server, 'https://10.96.0.1:443');
  assert.equal(c.ca!.toString(), 'CA PEM');
  assert.equal(c.authorization(), 'Bearer sa-token-1');
  writeFileSync(join(sa, 'token'), 'sa-token-2');
  assert.equal(c.authorization(), 'Bearer sa-token-2', 'projected tokens rotate');
  const v6 = loadKubeCredentials({ baseDir: dir, env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: sa });
  assert.equal(v6.server, 'https://[fd00::1]:443');
});

test('not in a cluster and nothing configured: a clear error', () => {
  assert.throws(() => loadKubeCredentials({ baseDir: dir, env: {}, serviceAccountDir: sa }), (e: unknown) => e instanceof DiscoveryError && e.code === 'EP_DISCOVERY_K8S_CONFIG' && /KUBERNETES_SERVICE_HOST/.test(e.message));
  assert.throws(() => loadKubeCredentials({ baseDir: dir, env: { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '1' }, serviceAccountDir: join(dir, 'none') }), /token .* not found/);
});

test('kubeconfig: current or chosen context, inline and file credentials, relative paths from the kubeconfig dir', () => {
  writeFileSync(join(dir, 'ca.pem'), 'FILE CA');
  writeFileSync(join(dir, 'tok'), 'file-token');
  const kc = join(dir, 'config');
  writeFileSync(
    kc,
    `apiVersion: v1
kind: Config
current-context: dev
clusters:
  - name: dev-cluster
    cluster:
      server: https://127.0.0.1:6443/
      certificate-authority-data: ${Buffer.from('INLINE CA').toString('base64')}
      tls-server-name: kubernetes
  - name: prod-cluster
    cluster:
      server: https://prod.example:6443
      certificate-authority: ca.pem
users:
  - name: dev-user
    user:
      token: dev-token
      client-certificate-data: ${Buffer.from('CERT').toString('base64')}
      client-key-data: ${Buffer.from('KEY').toString('base64')}
  - name: prod-user
    user:
      tokenFile: tok
  - name: exec-user
    user:
      exec: { command: aws }
contexts:
  - name: dev
    context: { cluster: dev-cluster, user: dev-user, namespace: dev }
  - name: prod
    context: { cluster: prod-cluster, user: prod-user }
  - name: eks
    context: { cluster: prod-cluster, user: exec-user }
`,
  );
  const dev = loadKubeCredentials({ baseDir: dir, kubeconfig: 'config' });
  assert.equal(dev.server, 'https://127.0.0.1:6443');
  assert.equal(dev.ca!.toString(), 'INLINE CA');
  assert.equal(dev.servername, 'kubernetes');
  assert.equal(dev.cert!.toString(), 'CERT');
  assert.equal(dev.key!.toString(), 'KEY');
  assert.equal(dev.authorization(), 'Bearer dev-token');
  const prod = loadKubeCredentials({ baseDir: dir, kubeconfig: kc, context: 'prod', apiServer: 'https://override.example:443' });
  assert.equal(prod.server, 'https://override.example', 'apiServer overrides the kubeconfig server (default port dropped)');
  assert.equal(prod.ca!.toString(), 'FILE CA');
  assert.equal(prod.authorization(), 'Bearer file-token');
  assert.throws(() => loadKubeCredentials({ baseDir: dir, kubeconfig: kc, context: 'eks' }), /exec\/auth-provider/);
  assert.throws(() => loadKubeCredentials({ baseDir: dir, kubeconfig: kc, context: 'nope' }), /context "nope" not found/);
  assert.throws(() => loadKubeCredentials({ baseDir: dir, kubeconfig: 'missing' }), /cannot read kubeconfig/);
  writeFileSync(join(dir, 'bad'), 'clusters: [');
  assert.throws(() => loadKubeCredentials({ baseDir: dir, kubeconfig: 'bad' }), /not valid YAML/);
});

test('apiServer alone: plain http (kubectl proxy) carries no credentials', () => {
  const c = loadKubeCredentials({ baseDir: dir, apiServer: 'http://127.0.0.1:8001', serviceAccountDir: sa });
  assert.equal(c.server, 'http://127.0.0.1:8001');
  assert.equal(c.authorization(), undefined);
  assert.throws(() => loadKubeCredentials({ baseDir: dir, apiServer: 'ftp://x' }), /http or https/);
});
