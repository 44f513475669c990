import { spawn, spawnSync, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unmountUnder } from './mounts.ts';
import { waitFor } from './wait.ts';

/**
 * A private dockerd for one test file: its own data-root, exec-root, pidfile
 * and socket under a temp dir, no bridge and no iptables (containers use host
 * networking; a test daemon must not touch the host's firewall), stopped by
 * its PID and removed, mounts included, by `close()`.
 */
export interface Dockerd {
  socket: string;
  dir: string;
  /** Runs the docker CLI against this daemon. */
  docker(args: string[], options?: { input?: Buffer; timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  output(): string;
  close(): Promise<void>;
}

/** Why this machine can't run the daemon, or null. */
export function dockerdUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'dockerd needs root here (the test starts its own daemon)';
  for (const b of ['dockerd', 'docker', 'runc', 'tar']) {
    if (spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0) return `${b} is not installed (apt-get install docker.io)`;
  }
  return null;
}

export async function startDockerd(): Promise<Dockerd> {
  // Short path: containerd's sockets under exec-root must fit a unix socket path.
  const dir = mkdtempSync(join(tmpdir(), 'ep-dk-'));
  const sock = join(dir, 'd.sock');
  const pidfile = join(dir, 'docker.pid');
  writeFileSync(join(dir, 'daemon.json'), '{}\n');
  let out = '';
  let exited: number | null | undefined;
  const proc: ChildProcess = spawn('dockerd', [
    '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', pidfile, '-H', `unix://${sock}`,
    '--bridge=none', '--iptables=false', '--ip6tables=false', '--log-level=warn', '--config-file', join(dir, 'daemon.json'),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  proc.once('exit', (code) => (exited = code));

  const docker: Dockerd['docker'] = (args, options = {}) => new Promise((resolve) => {
    const child = execFile('docker', ['-H', `unix://${sock}`, ...args], { timeout: options.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: join(dir, 'client') } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    if (options.input) child.stdin!.end(options.input);
  });

  const close = async (): Promise<void> => {
    if (exited === undefined) {
      const ids = (await docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) await docker(['rm', '-f', '-v', ...ids]);
      // By its PID, never by name: other daemons may run on this machine.
      const pid = existsSync(pidfile) ? Number(readFileSync(pidfile, 'utf8')) : proc.pid;
      if (pid) process.kill(pid, 'SIGTERM');
      await waitFor(() => exited !== undefined, { timeoutMs: 30_000, what: 'dockerd exit' }).catch(() => proc.kill('SIGKILL'));
    }
    for (let attempt = 0; ; attempt++) {
      unmountUnder(dir);
      try {
        rmSync(dir, { recursive: true, force: true });
        return;
      } catch (err) {
        if (attempt >= 20) throw new Error(`cannot remove ${dir}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };

  try {
    await waitFor(async () => {
      if (exited !== undefined) throw new Error(`dockerd exited with ${exited}:\n${out.slice(-3000)}`);
      return existsSync(sock) && (await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 })).code === 0;
    }, { timeoutMs: 90_000, intervalMs: 250, what: `dockerd on ${sock}` });
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  return { socket: `unix://${sock}`, dir, docker, output: () => out, close };
}

/**
 * Imports a minimal Node 20 base image made of this machine's own `node`
 * binary and the shared libraries it links (no registry here). It has the
 * user `node` (1000) of the official images; what the official image has
 * beyond that (a shell, npm) the Dockerfile does not use.
 */
export async function importHostNodeBase(d: Dockerd, ref: string): Promise<void> {
  const node = spawnSync('sh', ['-c', 'readlink -f "$(command -v node)"'], { encoding: 'utf8' }).stdout.trim();
  const libs = spawnSync('ldd', [node], { encoding: 'utf8' }).stdout
    .split('\n')
    .map((l) => /(\/\S+) \(0x/.exec(l)?.[1])
    .filter((p): p is string => !!p);
  const root = join(d.dir, 'base-rootfs');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'tmp'), { recursive: true, mode: 0o1777 });
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000::/home/node:/sbin/nologin\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nnode:x:1000:\n');
  const tar = join(d.dir, 'base.tar');
  // --dereference: the libraries are symlinks to versioned files; the image needs the files under the linked names.
  const packed = spawnSync('tar', ['-cf', tar, '--dereference', '-C', '/', node.slice(1), ...libs.map((l) => l.slice(1)), '-C', root, 'etc', 'tmp'], { encoding: 'utf8' });
  if (packed.status !== 0) throw new Error(`tar: ${packed.stderr}`);
  const node20 = node === '/usr/bin/node' ? [] : ['--change', `ENV PATH=${join(node, '..')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`];
  const r = await d.docker(['import', ...node20, tar, ref]);
  rmSync(tar, { force: true });
  rmSync(root, { recursive: true, force: true });
  if (r.code !== 0) throw new Error(`docker import: ${r.stderr}`);
}

