import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, existsSync, realpathSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../helpers/gateway-process.ts';
import { tempDir } from '../../helpers/temp-dir.ts';
import { startUpstream } from '../../helpers/upstreams.ts';

function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: options.cwd ?? repoRoot, env: { ...process.env, ...options.env }, timeout: 540_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * What a user without the repository gets: `npm pack` (which builds dist/ via
 * `prepare`), then `npm install -g` of the tarball into a fresh prefix. The
 * dependencies come from npm's cache when it has them (`--prefer-offline`),
 * else from the registry, as for any user.
 */
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

let packing: Promise<{ dir: string; tarball: string; listed: string[] }> | undefined;
/** One `npm pack` (it builds dist/, the slow part) for every test of this file. */
function packOnce(): Promise<{ dir: string; tarball: string; listed: string[] }> {
  packing ??= (async () => {
    const dir = tempDir('edgeplane-pack-');
    const packed = await run(npm, ['pack', '--pack-destination', dir, '--json']);
    assert.equal(packed.code, 0, packed.stderr);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, `a tarball in ${dir}`);
    const listed = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    return { dir, tarball, listed };
  })();
  return packing;
}

test('npm pack produces a tarball that installs globally and puts a working edgeplane on PATH', { timeout: 1_200_000 }, async () => {
  const { dir, tarball, listed } = await packOnce();
  for (const f of ['dist/cli.js', 'schema/edgeplane.schema.json', 'ui/index.html', 'examples/demo.yaml', 'certs-dev/server.crt', 'deploy/docker/Dockerfile']) assert.ok(listed.includes(f), `${f} is in the package`);
  assert.ok(!listed.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'sources and tests are not shipped');

  const prefix = join(dir, 'prefix');
  const installed = await run(npm, ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball!)], { cwd: dir });
  assert.equal(installed.code, 0, installed.stderr);
  const bin = join(prefix, 'bin');
  assert.ok(existsSync(join(bin, 'edgeplane')), 'bin/edgeplane installed');
  const env = { PATH: `${bin}:${process.env.PATH}` };
  // Run by name through PATH, from a directory that is not the repository.
  const help = await run('edgeplane', ['--help'], { cwd: dir, env });
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /usage: edgeplane <command>/);
  const pkgRoot = realpathSync(join(prefix, 'lib', 'node_modules', 'edgeplane'));
  const validated = await run('edgeplane', ['validate', join(pkgRoot, 'examples', 'demo.yaml')], { cwd: dir, env });
  assert.equal(validated.code, 0, validated.stderr);
  assert.match(validated.stdout, /demo\.yaml: ok/);
  const token = await run('edgeplane', ['token', '--scope', 'read'], { cwd: dir, env });
  assert.equal(token.code, 0, token.stderr);
  assert.match(token.stdout, /^ey[\w-]+\.[\w-]+\.[\w-]+\n$/);
});

/**
 * The library entry point as a user's project sees it: the packed package
 * installed as a dependency, its types checked by tsc in a consumer file, and
 * `import ... from 'edgeplane'` starting a gateway that proxies to an upstream.
 */
test('the packed package is a library: typed imports from "edgeplane" load, validate and start a gateway', { timeout: 1_200_000 }, async () => {
  const { dir, tarball, listed } = await packOnce();
  for (const f of ['dist/index.js', 'dist/index.d.ts']) assert.ok(listed.includes(f), `${f} is in the package`);
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const installed = await run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball)], { cwd: app });
  assert.equal(installed.code, 0, installed.stderr);

  // Types: the consumer compiles against dist/*.d.ts, and a wrong type is caught (so the check is real).
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: ['node'], typeRoots: [join(repoRoot, 'node_modules/@types')] }, files: ['consumer.ts'] }),
  );
  const consumer = (portType: string) => `import { loadConfigFile, startGateway, ConfigError, type Config, type RouteConfig, type GatewayAddresses } from 'edgeplane';
const config: Config = loadConfigFile('gateway.yaml');
const route: RouteConfig = config.routes[0]!;
const gw = await startGateway({ config, baseDir: '.' });
const port: ${portType} = gw.addresses().listeners[0]!.port;
const addresses: GatewayAddresses = gw.addresses();
console.log(route.name, port, addresses.pid, ConfigError.name);
await gw.close();
`;
  const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
  writeFileSync(join(app, 'consumer.ts'), consumer('number'));
  const typed = await run(process.execPath, [tsc, '-p', app], { cwd: app });
  assert.equal(typed.code, 0, typed.stdout + typed.stderr);
  writeFileSync(join(app, 'consumer.ts'), consumer('string'));
  const mistyped = await run(process.execPath, [tsc, '-p', app], { cwd: app });
  assert.match(mistyped.stdout, /consumer\.ts\(5,\d+\): error TS2322/, 'the port is typed as a number');

  // Runtime: a bad config is refused with its path, a good one serves traffic.
  const upstream = await startUpstream('blue');
  try {
    writeFileSync(
      join(app, 'gateway.yaml'),
      `node: { id: lib-gw, region: jp }
listeners: [ { name: http, address: 127.0.0.1:0, protocol: http } ]
admin: { address: 127.0.0.1:0 }
clusters: [ { name: blue, endpoints: [${upstream.address}] } ]
routes: [ { name: api, match: { path: { prefix: / } }, split: [ { cluster: blue, weight: 1 } ] } ]
`,
    );
    writeFileSync(
      join(app, 'main.mjs'),
      `import { readFileSync } from 'node:fs';
import { startGateway, parseConfig, ConfigError } from 'edgeplane';
let refused = null;
try {
  parseConfig(readFileSync('gateway.yaml', 'utf8').replace('cluster: blue', 'cluster: nope'));
} catch (err) {
  refused = err instanceof ConfigError ? err.issues.map((i) => i.path + ' line ' + i.line) : String(err);
}
const gw = await startGateway({ configFile: 'gateway.yaml' });
try {
  const port = gw.addresses().listeners[0].port;
  const res = await fetch('http://127.0.0.1:' + port + '/hello');
  console.log(JSON.stringify({ refused, status: res.status, body: await res.json() }));
} finally {
  await gw.close();
}
`,
    );
    const ran = await run(process.execPath, ['main.mjs'], { cwd: app, env: { EDGEPLANE_LOG_LEVEL: 'silent' } });
    assert.equal(ran.code, 0, ran.stderr);
    const out = JSON.parse(ran.stdout.trim().split('\n').at(-1)!) as { refused: string[]; status: number; body: { color: string; path: string } };
    assert.deepEqual(out.refused, ['routes[0].split[0].cluster line 5'], 'the unknown cluster is named by path and line');
    assert.equal(out.status, 200);
    assert.equal(out.body.color, 'blue');
    assert.equal(out.body.path, '/hello');
  } finally {
    await upstream.close();
  }
});
