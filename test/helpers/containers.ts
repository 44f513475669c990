import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineClient } from '../../src/discovery/docker-engine.ts';
import { unmountUnder } from './mounts.ts';
import { waitFor } from './wait.ts';

/**
 * A real container daemon for one test file: `dockerd` or
 * `podman system service` with its own storage, state and socket under a temp
 * dir, started once per file (it is slow) and torn down at the end with every
 * container it ran. Images are built here from Debian's busybox-static: no
 * registry is involved.
 */

export type EngineKind = 'docker' | 'podman';

export interface TestEngine {
  kind: EngineKind;
  /** `unix:///tmp/.../engine.sock` */
  socket: string;
  client: EngineClient;
  dir: string;
  /** Imports a service image (see `SERVICE_VERSIONS`) as `edgeplane-test/svc:<version>`. */
  importService(version: ServiceVersion): Promise<string>;
  /** Force-removes every container of the daemon. */
  removeAllContainers(): Promise<void>;
  /** Stops the daemon (keeps its storage: `start()` brings it back with the same containers and images). */
  stopDaemon(): Promise<void>;
  startDaemon(): Promise<void>;
  /** Removes every container, stops the daemon, unmounts and deletes the temp dir. */
  close(): Promise<void>;
  output(): string;
}

/**
 * The test service's versions. Each answers `/cgi-bin/version` (the traffic
 * path) and `/readyz` (the cluster's health check):
 * - v1, v2: 200 with their name;
 * - bad: /readyz 500 (never ready), so a deploy of it must fail;
 * - 5xx: ready, but every request on the traffic path answers 500.
 */
export type ServiceVersion = 'v1' | 'v2' | 'bad' | '5xx';
export const SERVICE_IMAGE = 'edgeplane-test/svc';

/** The command that runs the service on `port` (host networking), as a unit's template.command. */
export const SERVICE_COMMAND = ['/bin/busybox', 'httpd', '-f', '-p', '127.0.0.1:{{port}}', '-h', '/www'];

/** Why this machine cannot run `kind`, or null when it can try. */
export function engineUnavailable(kind: EngineKind): string | null {
  if (process.getuid?.() !== 0) return `${kind} needs root here (the test starts its own daemon)`;
  const bins = kind === 'docker' ? ['dockerd', 'runc'] : ['podman', 'runc'];
  for (const b of [...bins, 'busybox', 'tar']) if (spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0) return `${b} is not installed (apt-get install docker.io podman runc busybox-static)`;
  if (!existsSync(busyboxPath())) return 'busybox-static is not installed (/bin/busybox)';
  return null;
}

function busyboxPath(): string {
  return existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox';
}

/** Starts the daemon; throws with the daemon's output when it cannot (callers turn that into a skip with the reason). */
export async function startEngine(kind: EngineKind): Promise<TestEngine> {
  // Short: the containerd socket under exec-root must fit a unix socket path.
  const dir = mkdtempSync(join(tmpdir(), `ep-${kind[0]}-`));
  const sock = join(dir, 'engine.sock');
  const socket = `unix://${sock}`;
  let out = '';
  let proc: ChildProcess | null = null;
  let exited: number | null | undefined;

  // The daemons' own temp files (image imports: podman's api_load.tar*) stay in the daemon's dir, removed with it.
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: join(dir, 'tmp') };
  let argv: string[];
  if (kind === 'docker') {
    // No bridge, no iptables: test containers use host networking, and a daemon must not touch the host's firewall.
    argv = ['dockerd', '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'), '-H', socket,
      '--bridge=none', '--iptables=false', '--ip6tables=false', '--log-level=warn', '--config-file', join(dir, 'daemon.json')];
    // live-restore: containers outlive a daemon restart, as on a production host (and as with Podman, whose conmon keeps them).
    writeFileSync(join(dir, 'daemon.json'), '{"live-restore": true}\n');
  } else {
    // runc and cgroupfs: no systemd here; explicit ulimits: the defaults podman computes fail in this kind of sandbox.
    // events_logger=file: the journald default delivers no /events without systemd-journald.
    writeFileSync(join(dir, 'containers.conf'), [
      '[containers]',
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `tmp_dir = "${join(dir, 'tmp')}"`,
      `static_dir = "${join(dir, 'static')}"`,
      `volume_path = "${join(dir, 'volumes')}"`,
      '',
    ].join('\n'));
    writeFileSync(join(dir, 'storage.conf'), ['[storage]', 'driver = "overlay"', `graphroot = "${join(dir, 'root')}"`, `runroot = "${join(dir, 'run')}"`, ''].join('\n'));
    env.CONTAINERS_CONF = join(dir, 'containers.conf');
    env.CONTAINERS_STORAGE_CONF = join(dir, 'storage.conf');
    argv = ['podman', '--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'), 'system', 'service', '--time=0', socket];
  }
  const client = new EngineClient(socket);

  const startDaemon = async (): Promise<void> => {
    exited = undefined;
    const p = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (out += d));
    p.once('exit', (code) => (exited = code));
    await waitFor(async () => {
      if (exited !== undefined) throw new Error(`${kind} daemon exited with ${exited}:\n${out.slice(-3000)}`);
      return existsSync(sock) && (await client.ping(1000).then(() => true, () => false));
    }, { timeoutMs: 60_000, intervalMs: 100, what: `${kind} daemon on ${sock}` });
  };

  const stopDaemon = async (): Promise<void> => {
    const p = proc;
    if (!p || exited !== undefined) return;
    p.kill('SIGTERM');
    try {
      await waitFor(() => exited !== undefined, { timeoutMs: 30_000, what: `${kind} daemon exit` });
    } catch {
      p.kill('SIGKILL');
      await waitFor(() => exited !== undefined, { timeoutMs: 10_000, what: `${kind} daemon exit after SIGKILL` });
    }
    proc = null;
    rmSync(sock, { force: true });
  };

  const removeAllContainers = async (): Promise<void> => {
    const list = await client.expect<{ Id: string }[]>('GET', '/containers/json?all=1');
    await Promise.all(list.map((c) => client.call('DELETE', `/containers/${c.Id}?force=1&v=1`, { timeoutMs: 30_000 })));
  };

  const imported = new Set<ServiceVersion>();
  const importService = async (version: ServiceVersion): Promise<string> => {
    const ref = `${SERVICE_IMAGE}:${version}`;
    if (imported.has(version)) return ref;
    const tar = buildServiceRootfs(dir, version);
    const q = new URLSearchParams({ fromSrc: '-', repo: SERVICE_IMAGE, tag: version });
    const body = await client.expect<string | { id?: string; status?: string }>('POST', `/images/create?${q}`, { raw: tar, contentType: 'application/x-tar', timeoutMs: 60_000 });
    if (kind === 'podman') {
      // Podman's compat import ignores repo/tag: tag the image it reports.
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      const id = /sha256:[0-9a-f]{64}/.exec(text)?.[0];
      if (!id) throw new Error(`podman import answered no image id: ${text.slice(0, 300)}`);
      await client.expect('POST', `/images/${id}/tag?${new URLSearchParams({ repo: SERVICE_IMAGE, tag: version })}`);
    }
    imported.add(version);
    return ref;
  };

  const close = async (): Promise<void> => {
    let removed = false;
    if (proc && exited === undefined) removed = await removeAllContainers().then(() => true, () => false);
    await stopDaemon().catch(() => {});
    if (kind === 'podman' && !removed) {
      // conmon outlives the service; anything left is ours (its paths are under dir).
      spawnSync('podman', ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'), 'rm', '-af', '-t', '0'], { env, timeout: 30_000 });
    }
    // Storage mounts can linger a moment after the daemon exits: unmount and retry.
    for (let attempt = 0; ; attempt++) {
      unmountUnder(dir);
      try {
        rmSync(dir, { recursive: true, force: true });
        return;
      } catch (err) {
        if (attempt >= 20) {
          process.stderr.write(`containers helper: could not remove ${dir}: ${(err as Error).message}\n`);
          return;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };

  try {
    await startDaemon();
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  return { kind, socket, client, dir, importService, removeAllContainers, stopDaemon, startDaemon, close, output: () => out };
}

/** A rootfs with busybox, the version's /www, packed as a tar. */
function buildServiceRootfs(dir: string, version: ServiceVersion): Buffer {
  const root = join(dir, `rootfs-${version}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'www', 'cgi-bin'), { recursive: true });
  mkdirSync(join(root, 'tmp'), { recursive: true });
  copyFileSync(busyboxPath(), join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  symlinkSync('busybox', join(root, 'bin', 'sh'));
  const cgi = join(root, 'www', 'cgi-bin', 'version');
  const reply = version === '5xx' ? 'Status: 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\nbroken 5xx\\n' : `Content-Type: text/plain\\r\\n\\r\\n${version}\\n`;
  writeFileSync(cgi, `#!/bin/sh\nprintf "${reply}"\n`);
  chmodSync(cgi, 0o755);
  if (version !== 'bad') writeFileSync(join(root, 'www', 'readyz'), 'ok\n');
  else writeFileSync(join(root, 'www', 'cgi-bin', 'readyz'), '#!/bin/sh\nprintf "Status: 500 Internal Server Error\\r\\n\\r\\nnot ready\\n"\n');
  return execFileSync('tar', ['-C', root, '-c', '.'], { maxBuffer: 64 * 1024 * 1024 });
}


/** Runs a container of the test service with host networking on `port`, with `labels`. Returns its id. */
export async function runService(engine: TestEngine, options: { version: ServiceVersion; port: number; labels: Record<string, string>; name?: string; healthCheck?: boolean }): Promise<string> {
  const image = await engine.importService(options.version);
  const cmd = SERVICE_COMMAND.map((a) => a.replace('{{port}}', String(options.port)));
  const body: Record<string, unknown> = {
    Image: image,
    Cmd: cmd,
    Labels: options.labels,
    HostConfig: { NetworkMode: 'host' },
  };
  if (options.healthCheck) {
    body.Healthcheck = { Test: ['CMD', '/bin/busybox', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${options.port}/readyz`], Interval: 300_000_000, Timeout: 1_000_000_000, Retries: 1 };
  }
  const q = options.name ? `?name=${encodeURIComponent(options.name)}` : '';
  const created = await engine.client.expect<{ Id: string }>('POST', `/containers/create${q}`, { body, timeoutMs: 30_000 });
  await engine.client.expect('POST', `/containers/${created.Id}/start`, { timeoutMs: 30_000 }, [304]);
  return created.Id;
}

/** A loopback port free right now (host-networked test containers bind it themselves). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs `cmd` inside a running container and waits for it to finish. */
export async function execIn(engine: TestEngine, id: string, cmd: string[]): Promise<void> {
  const created = await engine.client.expect<{ Id: string }>('POST', `/containers/${id}/exec`, { body: { Cmd: cmd, AttachStdout: true, AttachStderr: true } });
  await engine.client.call('POST', `/exec/${created.Id}/start`, { body: { Detach: false, Tty: false }, timeoutMs: 30_000 });
}
