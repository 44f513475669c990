import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { repoRoot } from '../../helpers/gateway-process.ts';
import { tempDir } from '../../helpers/temp-dir.ts';
import { waitFor } from '../../helpers/wait.ts';
import { dockerdUnavailable, startDockerd, importHostNodeBase } from '../../helpers/dockerd.ts';
import { createDemoUpstream, listen } from '../../../src/demo/upstream.ts';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { udpQuery } from '../dns/helpers.ts';

const BASE = 'edgeplane-test/node-base:20';
const IMAGE = 'edgeplane-test/edgeplane:ci';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 900_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * The image the documented way (deploy/docker/build.sh with the Dockerfile),
 * FROM a base imported from this machine's node (no registry here; users build
 * FROM node:20-bookworm-slim), run by a private dockerd with a mounted config:
 * proxy, HTTPS, DNS, admin, /ui/, Docker's health check, a non-root process,
 * and a SIGTERM drain that lets an in-flight request finish and exits 0.
 */
test('the container image built by deploy/docker/build.sh serves a mounted config and drains on docker stop', { timeout: 1_800_000 }, async (t) => {
  const why = dockerdUnavailable();
  if (why) {
    t.skip(why);
    return;
  }
  const d = await startDockerd();
  const upstream = createDemoUpstream({ service: 'api', color: 'blue', port: 0 });
  let name = '';
  try {
    await importHostNodeBase(d, BASE);
    const built = await sh(join(repoRoot, 'deploy/docker/build.sh'), ['--base', BASE, '--tag', IMAGE], { DOCKER: `docker -H ${d.socket}`, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: join(d.dir, 'client') });
    assert.equal(built.code, 0, `build.sh failed:\n${built.stdout}\n${built.stderr}`);
    const inspect = JSON.parse((await d.docker(['image', 'inspect', IMAGE])).stdout)[0] as { Size: number; Config: { User: string; Healthcheck?: unknown } };
    const baseSize = (JSON.parse((await d.docker(['image', 'inspect', BASE])).stdout)[0] as { Size: number }).Size;
    t.diagnostic(`image ${IMAGE}: ${(inspect.Size / 1e6).toFixed(1)} MB, of which the base (host node + libs) ${(baseSize / 1e6).toFixed(1)} MB and edgeplane ${((inspect.Size - baseSize) / 1e6).toFixed(1)} MB`);
    assert.equal(inspect.Config.User, '1000:1000');
    assert.ok(inspect.Config.Healthcheck, 'the image has a health check');

    const up = await listen(upstream, 0);
    const dir = tempDir('edgeplane-image-');
    const etc = join(dir, 'etc');
    const state = join(dir, 'state');
    mkdirSync(join(etc, 'certs'), { recursive: true });
    mkdirSync(state);
    chownSync(state, 1000, 1000); // the container runs as 1000 and owns its state volume
    cpSync(join(repoRoot, 'certs-dev/server.crt'), join(etc, 'certs/server.crt'));
    cpSync(join(repoRoot, 'certs-dev/server.key'), join(etc, 'certs/server.key'));
    const adminPort = await freePort();
    writeFileSync(join(etc, 'edgeplane.yaml'), `node: { id: img-1, region: jp }
listeners:
  - { name: http, address: 127.0.0.1:0, protocol: http }
  - name: https
    address: 127.0.0.1:0
    protocol: https
    tls: { certificates: [ { cert: certs/server.crt, key: certs/server.key } ] }
clusters:
  - { name: api, endpoints: [127.0.0.1:${up.port}] }
routes:
  - name: api
    match: { hosts: [api.svc.plus] }
    split: [ { cluster: api, weight: 1 } ]
admin: { address: 127.0.0.1:${adminPort}, token: image-test-token, stateDir: /var/lib/edgeplane }
drain: { delay: 500ms, timeout: 20s }
dns:
  listen: [127.0.0.1:0]
  zones:
    - origin: svc.plus
      soa: { mname: ns1.svc.plus, rname: hostmaster.svc.plus, refresh: 3600, retry: 600, expire: 86400, minimum: 30 }
      nameservers: [ns1.svc.plus]
      records: [ { name: ns1, type: A, value: 203.0.113.53 }, { name: www, type: A, value: 203.0.113.80 } ]
`);
    name = `edgeplane-image-test-${process.pid}`;
    const started = await d.docker(['run', '-d', '--name', name, '--network', 'host',
      '-v', `${etc}:/etc/edgeplane:ro`, '-v', `${state}:/var/lib/edgeplane`,
      '-e', `EDGEPLANE_HEALTH_URL=http://127.0.0.1:${adminPort}/readyz`,
      IMAGE, 'run', '--config', '/etc/edgeplane/edgeplane.yaml', '--ready-file', '/var/lib/edgeplane/ready.json']);
    assert.equal(started.code, 0, started.stderr);
    const readyFile = join(state, 'ready.json');
    await waitFor(async () => {
      const s = await d.docker(['inspect', '--format', '{{.State.Running}}', name]);
      if (s.stdout.trim() === 'false') throw new Error(`container exited:\n${(await d.docker(['logs', name])).stderr}`);
      return existsSync(readyFile);
    }, { timeoutMs: 120_000, what: 'container ready file' });
    const ready = JSON.parse(readFileSync(readyFile, 'utf8')) as { listeners: { name: string; port: number }[]; dns: { udp: { port: number }[] } };
    const port = (n: string) => ready.listeners.find((l) => l.name === n)!.port;

    // Non-root: the gateway process, seen from the host.
    const pid = (await d.docker(['inspect', '--format', '{{.State.Pid}}', name])).stdout.trim();
    assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:\s+1000\s+1000\s+1000\s+1000$/m);

    const proxied = await request(`http://127.0.0.1:${port('http')}/hello`, { headers: { host: 'api.svc.plus' } });
    assert.equal(proxied.statusCode, 200);
    assert.equal(((await proxied.body.json()) as { endpoint: string }).endpoint, `127.0.0.1:${up.port}`);

    const tls = await sh('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', join(repoRoot, 'certs-dev/ca.crt'), '--resolve', `api.svc.plus:${port('https')}:127.0.0.1`, `https://api.svc.plus:${port('https')}/hello`], {});
    if (tls.code === 127) t.diagnostic('curl not installed: HTTPS not checked');
    else assert.equal(tls.stdout, '200', tls.stderr);

    const answer = await udpQuery(ready.dns.udp[0]!.port, buildQuery('www.svc.plus', { type: 1 }));
    assert.deepEqual(answer.answers.map((a) => a.data), ['203.0.113.80']);

    const admin = `http://127.0.0.1:${adminPort}`;
    const config = await request(`${admin}/v1/config`, { headers: { authorization: 'Bearer image-test-token' } });
    assert.equal(config.statusCode, 200);
    assert.equal(((await config.body.json()) as { version: number }).version, 1);
    const ui = await request(`${admin}/ui/`);
    assert.equal(ui.statusCode, 200);
    assert.match(await ui.body.text(), /<html/i);
    const ready200 = await request(`${admin}/readyz`);
    assert.equal(ready200.statusCode, 200);
    await ready200.body.text();
    await waitFor(async () => (await d.docker(['inspect', '--format', '{{.State.Health.Status}}', name])).stdout.trim() === 'healthy', { timeoutMs: 120_000, what: 'docker health: healthy' }).catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${(await d.docker(['inspect', '--format', '{{json .State.Health}}', name])).stdout}`);
    });

    // A request in flight when docker stop sends SIGTERM finishes; the container exits 0.
    let slowArrived = false;
    upstream.on('request', (req) => {
      if (req.url?.startsWith('/slow')) slowArrived = true;
    });
    const slow = request(`http://127.0.0.1:${port('http')}/slow?ms=2000`, { headers: { host: 'api.svc.plus' } });
    await waitFor(() => slowArrived, { timeoutMs: 30_000, what: 'the slow request at the upstream' });
    const stopped = d.docker(['stop', '-t', '60', name]);
    const slowRes = await slow;
    assert.equal(slowRes.statusCode, 200);
    await slowRes.body.text();
    assert.equal((await stopped).code, 0);
    assert.equal((await d.docker(['inspect', '--format', '{{.State.ExitCode}}', name])).stdout.trim(), '0');
    const logs = await d.docker(['logs', name]);
    assert.match(logs.stdout + logs.stderr, /"signal":"SIGTERM"/);
    assert.match(logs.stdout + logs.stderr, /"unfinished":0,"msg":"stopped"/);
  } finally {
    upstream.close();
    await d.close();
  }
});
