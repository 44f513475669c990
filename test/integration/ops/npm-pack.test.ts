import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../helpers/gateway-process.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

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
test('npm pack produces a tarball that installs globally and puts a working edgeplane on PATH', { timeout: 1_200_000 }, async () => {
  const dir = tempDir('edgeplane-pack-');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const packed = await run(npm, ['pack', '--pack-destination', dir, '--json']);
  assert.equal(packed.code, 0, packed.stderr);
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, `a tarball in ${dir}`);
  const listed = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
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
