import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync, existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { cliPath, repoRoot } from '../../helpers/gateway-process.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const certs = join(repoRoot, 'certs-dev');

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', cliPath, ...args], { cwd: repoRoot, timeout: 240_000, env: { ...process.env, EDGEPLANE_LOG_LEVEL: 'info' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function config(opts: { cert?: string; key?: string; stateDir?: string; admin?: string; http?: string; host?: string }): string {
  return `node: { id: gw-1, region: jp }
listeners:
  - name: https
    address: 127.0.0.1:0
    protocol: https
    tls:
      certificates:
        - cert: ${opts.cert ?? join(certs, 'server.crt')}
          key: ${opts.key ?? join(certs, 'server.key')}
  - { name: http, address: ${opts.http ?? '127.0.0.1:0'}, protocol: http }
clusters:
  - { name: app, endpoints: [127.0.0.1:9] }
routes:
  - name: app
    match: { hosts: [${opts.host ?? 'api.svc.plus'}] }
    split: [ { cluster: app, weight: 1 } ]
admin:
  address: ${opts.admin ?? '127.0.0.1:0'}
  stateDir: ${opts.stateDir ?? './state'}
`;
}

test('validate refuses what run refuses: missing certificate and key files, a key that does not match, an uncreatable state directory; run refuses them before binding, persisting nothing', async () => {
  const dir = tempDir('edgeplane-preflight-');
  writeFileSync(join(dir, 'not-a-dir'), 'x');
  const cases = [
    { name: 'missing-cert.yaml', text: config({ cert: './nope.crt' }), want: new RegExp(`^${join(dir, 'missing-cert.yaml')}: listeners\\[0\\]\\.tls\\.certificates\\[0\\]\\.cert \\(line 8\\): cannot read certificate ${join(dir, 'nope.crt')}: no such file$`, 'm') },
    { name: 'missing-key.yaml', text: config({ key: './nope.key' }), want: /: listeners\[0\]\.tls\.certificates\[0\]\.key \(line 9\): cannot read private key .*\/nope\.key: no such file$/m },
    { name: 'mismatch.yaml', text: config({ key: join(certs, 'other.key') }), want: /: listeners\[0\]\.tls\.certificates\[0\]\.key \(line 9\): .*other\.key does not match the certificate .*server\.crt$/m },
    { name: 'state.yaml', text: config({ stateDir: './not-a-dir/state' }), want: /: admin\.stateDir \(line 19\): state directory .*not-a-dir\/state cannot be created: .*not-a-dir is not a directory$/m },
  ];
  for (const c of cases) writeFileSync(join(dir, c.name), c.text);
  const results = await Promise.all(cases.map((c) => cli('validate', join(dir, c.name))));
  cases.forEach((c, i) => {
    assert.equal(results[i]!.code, 1, `${c.name}: ${results[i]!.stdout}${results[i]!.stderr}`);
    assert.match(results[i]!.stderr, c.want, c.name);
  });
  // run gives the same lines and exits before binding anything or creating the state directory.
  for (const c of cases.slice(0, 2)) {
    const stateDir = join(dir, 'state');
    const r = await cli('run', '--config', join(dir, c.name));
    assert.equal(r.code, 1);
    assert.match(r.stderr, c.want);
    assert.doesNotMatch(r.stderr + r.stdout, /listener started|is serving/);
    assert.equal(existsSync(stateDir), false, 'nothing persisted');
  }
});

test('validate warns (exit 0) when a route host is not covered by the https listener\'s certificates', async () => {
  const dir = tempDir('edgeplane-preflight-');
  writeFileSync(join(dir, 'cover.yaml'), config({ host: 'api.example.com' }));
  writeFileSync(join(dir, 'good.yaml'), config({}));
  const [cover, good] = await Promise.all([cli('validate', join(dir, 'cover.yaml')), cli('validate', join(dir, 'good.yaml'))]);
  assert.equal(cover.code, 0);
  assert.match(cover.stderr, /: routes\[0\]\.match\.hosts\[0\] \(line 15\): warning: listener "https" \(listeners\[0\]\) has no certificate for api\.example\.com/);
  assert.match(cover.stdout, /cover\.yaml: ok \(1 warning\)/);
  assert.equal(good.code, 0, good.stderr);
  assert.equal(good.stderr, '');
  assert.equal(existsSync(join(dir, 'state')), false, 'validate creates nothing');
});

test('a busy admin port fails the start naming the admin listener, before any data listener binds and before version 1 is persisted', async () => {
  const dir = tempDir('edgeplane-preflight-');
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const busy = (blocker.address() as net.AddressInfo).port;
  // A fixed data port (the old order bound it, and persisted version 1, before the admin listener failed).
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const dataPort = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  mkdirSync(join(dir, 'cfg'));
  const file = join(dir, 'cfg', 'busy.yaml');
  writeFileSync(file, config({ admin: `127.0.0.1:${busy}`, http: `127.0.0.1:${dataPort}` }));
  try {
    const r = await cli('run', '--config', file);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`: admin\\.address \\(line 18\\): the admin listener's address 127\\.0\\.0\\.1:${busy} is already in use by another process \\(EADDRINUSE\\)`));
    assert.doesNotMatch(r.stderr + r.stdout, /listener started|is serving/);
    assert.equal(existsSync(join(dir, 'cfg', 'state')), false, 'version 1 was not persisted');
  } finally {
    blocker.close();
  }
});
