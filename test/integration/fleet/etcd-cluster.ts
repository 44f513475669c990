import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's etcd-server installs etcd (overridable for other systems). */
export const ETCD_BIN = process.env.EDGEPLANE_ETCD_BIN ?? '/usr/bin/etcd';

/** Why etcd tests can't run here, or null when they can. */
export function etcdMissing(): string | null {
  return existsSync(ETCD_BIN) ? null : `etcd is not installed at ${ETCD_BIN} (apt-get install etcd-server)`;
}

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc: ChildProcess | null;
  log: string[];
}

/** A free loopback TCP port (bound to 0 and released: etcd needs the number on its command line). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A real etcd on loopback: one member or a cluster of three, each with a temp
 * data dir and ports the OS had free. Members are stopped by PID. Election
 * timings are short (50 ms heartbeat, 500 ms election) so a leader kill
 * settles in well under a second; keepalive pings from clients are allowed
 * every 500 ms so tests can use a short gRPC keepalive.
 */
export class EtcdCluster {
  readonly members: EtcdMember[];
  readonly root: string;
  readonly #token: string;

  private constructor(members: EtcdMember[], root: string, token: string) {
    this.members = members;
    this.root = root;
    this.#token = token;
  }

  static async start(size = 1): Promise<EtcdCluster> {
    const root = mkdtempSync(join(tmpdir(), 'edgeplane-etcd-'));
    const members: EtcdMember[] = [];
    for (let i = 0; i < size; i++) {
      members.push({ name: `m${i}`, clientUrl: `http://127.0.0.1:${await freePort()}`, peerUrl: `http://127.0.0.1:${await freePort()}`, dataDir: join(root, `m${i}`), proc: null, log: [] });
    }
    const c = new EtcdCluster(members, root, `edgeplane-test-${process.pid}-${Date.now()}`);
    try {
      for (const m of members) c.#spawn(m, 'new');
      await c.waitHealthy();
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  #spawn(m: EtcdMember, state: 'new' | 'existing'): void {
    const cluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    const args = [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=${m.clientUrl}`,
      `--advertise-client-urls=${m.clientUrl}`,
      `--listen-peer-urls=${m.peerUrl}`,
      `--initial-advertise-peer-urls=${m.peerUrl}`,
      `--initial-cluster=${cluster}`,
      `--initial-cluster-state=${state}`,
      `--initial-cluster-token=${this.#token}`,
      '--heartbeat-interval=50',
      '--election-timeout=500',
      '--grpc-keepalive-min-time=500ms',
      '--log-level=warn',
      '--logger=zap',
    ];
    const proc = spawn(ETCD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => {
      m.log.push(d);
      if (m.log.length > 200) m.log.shift();
    });
    m.proc = proc;
  }

  /** Every running member answers /health with a leader. */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const results = await Promise.all(
        this.members.filter((m) => m.proc).map(async (m) => {
          try {
            const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
            const body = (await res.json()) as { health?: string };
            return body.health === 'true';
          } catch {
            return false;
          }
        }),
      );
      if (results.length && results.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error(`etcd not healthy within ${timeoutMs}ms:\n${this.members.map((m) => m.log.join('')).join('\n').slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The member that is raft leader now (by /v2-free means: the metrics of each member). */
  async leader(): Promise<EtcdMember | undefined> {
    for (const m of this.members) {
      if (!m.proc) continue;
      try {
        const text = await (await fetch(`${m.clientUrl}/metrics`, { signal: AbortSignal.timeout(1000) })).text();
        if (/^etcd_server_is_leader 1$/m.test(text)) return m;
      } catch {
        /* not answering */
      }
    }
    return undefined;
  }

  /** SIGKILL one member (its data stays, so it can be started again). */
  async kill(m: EtcdMember, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = m.proc;
    if (!p) return;
    m.proc = null;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
  }

  /** Starts a stopped member again on its old data and ports. */
  restart(m: EtcdMember): void {
    if (m.proc) return;
    this.#spawn(m, 'existing');
  }

  async stopAll(): Promise<void> {
    for (const m of this.members) await this.kill(m);
  }

  /** Stops every member and removes the data. */
  async stop(): Promise<void> {
    await this.stopAll();
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Wipes every member's data and starts a fresh cluster on the same ports (a lost etcd). */
  async wipe(): Promise<void> {
    await this.stopAll();
    for (const m of this.members) rmSync(m.dataDir, { recursive: true, force: true });
    (this as { '#token'?: string })['#token'] = undefined;
    for (const m of this.members) this.#spawn(m, 'new');
    await this.waitHealthy();
  }
}
