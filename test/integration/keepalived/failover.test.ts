import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, chmodSync, chownSync, copyFileSync, mkdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { startGateway, repoRoot, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { waitFor } from '../../helpers/wait.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

/**
 * Two gateways and two real keepalived daemons, each pair in its own network
 * namespace, plus a client namespace; the three are joined by veth pairs on a
 * bridge inside the client namespace. Every address (10.213.7.0/24, the VIP
 * included) exists only inside these namespaces, so no packet leaves them.
 * keepalived runs the shipped deploy/keepalived/keepalived.conf (addresses
 * substituted) with its vrrp_script on /readyz and its notify hook, as in
 * production: enable_script_security, the scripts run as keepalived_script,
 * and the state file in a directory laid out like edgeplane-vrrp.tmpfiles.conf
 * (keepalived_script's, outside the gateway's runtime directory), which a
 * restart of the gateway leaves in place.
 *
 * Stopping the active gateway (SIGTERM: /readyz turns 503, then it drains)
 * must move the VIP to the backup while the client keeps getting answers.
 */
const N = process.pid % 10000;
const NS = { a: `epka${N}`, b: `epkb${N}`, c: `epkc${N}` } as const;
const IP = { a: '10.213.7.11', b: '10.213.7.12', client: '10.213.7.3', vip: '10.213.7.100' } as const;
const TEMPLATE = join(repoRoot, 'deploy/keepalived/keepalived.conf');
const CHECK = join(repoRoot, 'deploy/keepalived/check-readyz.sh');
const NOTIFY = join(repoRoot, 'deploy/keepalived/notify.sh');
const FIXTURES = join(repoRoot, 'test/integration/keepalived/fixtures');

function run(cmd: string[], allowFail = false): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd.join(' ')} failed: ${r.stderr || r.error?.message}`);
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function installed(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
}

/** Why this machine can't run the test, or null. */
function cannotRun(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces and run keepalived';
  if (!installed('ip')) return 'iproute2 (ip) is not installed';
  if (!installed('keepalived')) return 'keepalived is not installed (apt-get install keepalived)';
  const probe = `epkp${N}`;
  const r = run(['ip', 'netns', 'add', probe], true);
  if (r.status !== 0) return `cannot create network namespaces here: ${r.stderr.trim()}`;
  run(['ip', 'netns', 'del', probe], true);
  return null;
}

/** The unprivileged user keepalived runs the scripts as (created here when missing, removed after). */
function ensureScriptUser(): { uid: number; created: boolean } {
  const uid = () => Number(run(['id', '-u', 'keepalived_script'], true).stdout.trim());
  if (run(['id', '-u', 'keepalived_script'], true).status === 0) return { uid: uid(), created: false };
  run(['useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'keepalived_script']);
  return { uid: uid(), created: true };
}

/** The shipped keepalived.conf with this test's addresses, paths and per-node values. */
function renderKeepalived(node: 'a' | 'b', stateFile: string, scripts: string): string {
  let out = readFileSync(TEMPLATE, 'utf8');
  const replace = (from: string, to: string) => {
    if (!out.includes(from)) throw new Error(`deploy/keepalived/keepalived.conf no longer contains "${from}": update this test with it`);
    out = out.split(from).join(to);
  };
  // As in production: enable_script_security and script_user keepalived_script stay; the scripts are
  // installed root-owned in a directory only root can write (keepalived refuses them otherwise).
  replace('/usr/local/lib/edgeplane/check-readyz.sh', join(scripts, 'check-readyz.sh'));
  replace('/usr/local/lib/edgeplane/notify.sh /run/edgeplane-vrrp/state', `${join(scripts, 'notify.sh')} ${stateFile}`);
  replace('203.0.113.10/24', `${IP.vip}/24`);
  const [self, peer] = node === 'a' ? [IP.a, IP.b] : [IP.b, IP.a];
  replace('192.0.2.11', self);
  replace('192.0.2.12', peer);
  if (node === 'b') {
    replace('router_id edgeplane_gw_1', 'router_id edgeplane_gw_2');
    replace('priority 150', 'priority 100');
  }
  return out;
}

function gatewayConfig(name: string): Record<string, unknown> {
  return {
    node: { id: `gw-${name}`, region: 'jp' },
    listeners: [{ name: 'http', address: '0.0.0.0:8080', protocol: 'http' }],
    clusters: [{ name: 'local', endpoints: ['127.0.0.1:9101'] }],
    routes: [{ name: 'all', match: { path: { prefix: '/' } }, split: [{ cluster: 'local', weight: 1 }] }],
    admin: { address: '127.0.0.1:9901', token: 'keepalived-test-token' },
    // Longer than keepalived needs to notice (interval 1s * fall 2 + advert 1s): the VIP moves before the listener closes.
    drain: { delay: '5s', timeout: '10s' },
  };
}

function vipOn(ns: string): boolean {
  return run(['ip', '-n', ns, '-4', '-o', 'addr', 'show', 'dev', 'eth0'], true).stdout.includes(` ${IP.vip}/`);
}

function vrrpState(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split(' ')[0]! : '';
}

interface Spawned {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Everything this test starts, stopped in order by one cleanup: processes
 * first (SIGTERM, then SIGKILL), then anything still inside our namespaces
 * (keepalived's VRRP child outlives a killed parent), then the namespaces.
 */
class Lab {
  readonly #spawned: Spawned[] = [];
  readonly #gateways: GatewayProcess[] = [];
  readonly #pidFiles: string[] = [];
  #namespaces: string[] = [];

  /** A pid file whose process must not outlive the test (keepalived's VRRP child). */
  pidFile(path: string): string {
    this.#pidFiles.push(path);
    return path;
  }

  spawnIn(ns: string, cmd: string[]): Spawned {
    const proc = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const s = { proc, output: () => out, exited };
    this.#spawned.push(s);
    return s;
  }

  gateway(g: GatewayProcess): GatewayProcess {
    this.#gateways.push(g);
    return g;
  }

  network(namespaces: string[]): void {
    this.#namespaces = namespaces;
  }

  async cleanUp(): Promise<void> {
    await Promise.all(this.#gateways.map((g) => g.stop('SIGKILL')));
    for (const s of [...this.#spawned].reverse()) {
      if (s.proc.exitCode === null && s.proc.signalCode === null) {
        s.proc.kill('SIGTERM');
        const timer = setTimeout(() => s.proc.kill('SIGKILL'), 10_000);
        await s.exited;
        clearTimeout(timer);
      }
    }
    for (const file of this.#pidFiles) {
      const pid = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : NaN;
      if (Number.isInteger(pid) && pid > 1) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const ns of this.#namespaces) {
      // Until the namespace is empty: a process forked while we were killing must not escape.
      for (let round = 0; round < 5; round++) {
        const pids = run(['ip', 'netns', 'pids', ns], true).stdout.split(/\s+/).filter(Boolean);
        if (pids.length === 0) break;
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      run(['ip', 'netns', 'del', ns], true);
    }
    // No pipe of a child may keep this test process alive.
    for (const s of this.#spawned) {
      s.proc.stdout?.destroy();
      s.proc.stderr?.destroy();
    }
  }
}

function setUpNetwork(lab: Lab): void {
  lab.network(Object.values(NS));
  for (const ns of Object.values(NS)) {
    run(['ip', 'netns', 'add', ns]);
    run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }
  // Each gateway namespace gets eth0 (as in the shipped config); its peer end joins a bridge in the client namespace.
  run(['ip', '-n', NS.a, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'pa', 'netns', NS.c]);
  run(['ip', '-n', NS.b, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'pb', 'netns', NS.c]);
  run(['ip', '-n', NS.c, 'link', 'add', 'br0', 'type', 'bridge']);
  for (const port of ['pa', 'pb']) {
    run(['ip', '-n', NS.c, 'link', 'set', port, 'master', 'br0']);
    run(['ip', '-n', NS.c, 'link', 'set', port, 'up']);
  }
  run(['ip', '-n', NS.c, 'addr', 'add', `${IP.client}/24`, 'dev', 'br0']);
  run(['ip', '-n', NS.c, 'link', 'set', 'br0', 'up']);
  run(['ip', '-n', NS.a, 'addr', 'add', `${IP.a}/24`, 'dev', 'eth0']);
  run(['ip', '-n', NS.a, 'link', 'set', 'eth0', 'up']);
  run(['ip', '-n', NS.b, 'addr', 'add', `${IP.b}/24`, 'dev', 'eth0']);
  run(['ip', '-n', NS.b, 'link', 'set', 'eth0', 'up']);
}

test('keepalived moves the VIP when the active gateway stops, and requests to the VIP continue', async (t) => {
  const reason = cannotRun();
  if (reason) {
    t.skip(reason);
    return;
  }
  const dir = tempDir('edgeplane-keepalived-');
  t.diagnostic(`namespaces ${Object.values(NS).join(', ')}; files in ${dir}`);
  const lab = new Lab();
  t.after(() => lab.cleanUp());
  const scriptUser = ensureScriptUser();
  t.after(() => scriptUser.created && run(['userdel', 'keepalived_script'], true));
  // keepalived_script must reach the scripts and the state directory: the path from / is traversable
  // (mkdtemp makes 0700 directories) and writable only by root, except the state directory.
  chmodSync(dir, 0o755);
  const scripts = join(dir, 'lib-edgeplane');
  mkdirSync(scripts, { mode: 0o755 });
  for (const f of [CHECK, NOTIFY]) {
    copyFileSync(f, join(scripts, basename(f)));
    chmodSync(join(scripts, basename(f)), 0o755);
  }
  // The production layout of deploy/keepalived/edgeplane-vrrp.tmpfiles.conf: keepalived_script's,
  // setgid, group of the gateway (root here), and not the gateway's runtime directory.
  const stateDir = join(dir, 'run-edgeplane-vrrp');
  mkdirSync(stateDir);
  chownSync(stateDir, scriptUser.uid, 0);
  chmodSync(stateDir, 0o2775);
  setUpNetwork(lab);

  // An upstream and a gateway in each gateway namespace.
  lab.spawnIn(NS.a, [process.execPath, join(FIXTURES, 'upstream.mjs'), '9101', 'A']);
  lab.spawnIn(NS.b, [process.execPath, join(FIXTURES, 'upstream.mjs'), '9101', 'B']);
  const gateways: Record<'a' | 'b', GatewayProcess> = {
    a: lab.gateway(await startGateway(gatewayConfig('a'), { prefix: ['ip', 'netns', 'exec', NS.a], timeoutMs: 60_000 })),
    b: lab.gateway(await startGateway(gatewayConfig('b'), { prefix: ['ip', 'netns', 'exec', NS.b], timeoutMs: 60_000 })),
  };

  // keepalived: A first, so it is the one holding the VIP; then B as the backup.
  const keepalived = (node: 'a' | 'b') => {
    const conf = join(dir, `keepalived-${node}.conf`);
    writeFileSync(conf, renderKeepalived(node, join(stateDir, `state-${node}`), scripts));
    return lab.spawnIn(NS[node], ['keepalived', '--dont-fork', '--log-console', '--log-detail', '--vrrp', '-f', conf, '-p', lab.pidFile(join(dir, `keepalived-${node}.pid`)), '-r', lab.pidFile(join(dir, `vrrp-${node}.pid`))]);
  };
  const kaA = keepalived('a');
  await waitFor(() => vipOn(NS.a), { timeoutMs: 30_000, what: `the VIP on gateway A\n${kaA.output()}` });
  const kaB = keepalived('b');
  await waitFor(() => vrrpState(join(stateDir, 'state-b')) === 'BACKUP', { timeoutMs: 30_000, what: `keepalived B in BACKUP\n${kaB.output()}` });
  assert.equal(vrrpState(join(stateDir, 'state-a')), 'MASTER');

  // A client in its own namespace talks only to the VIP.
  // A generous client timeout: a connection attempt made while the VIP moves is answered after TCP resends its SYN.
  const client = lab.spawnIn(NS.c, [process.execPath, join(FIXTURES, 'vip-client.mjs'), `http://${IP.vip}:8080/`, '15000']);
  const results = () =>
    client
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { i: number; ok: boolean; node?: string; error?: string; ms: number });
  const answeredBy = (node: string) => results().filter((r) => r.ok && r.node === node).length;
  await waitFor(() => answeredBy('A') >= 5, { timeoutMs: 30_000, what: `answers from A through the VIP\n${client.output()}` });

  // Stop the active gateway the way systemd does: SIGTERM.
  gateways.a.proc.kill('SIGTERM');
  await waitFor(() => vipOn(NS.b) && !vipOn(NS.a), { timeoutMs: 30_000, what: `the VIP to move to B\n${kaA.output()}\n${kaB.output()}` });
  const movedAt = results().length;
  await waitFor(() => results().slice(movedAt).filter((r) => r.ok && r.node === 'B').length >= 5, { timeoutMs: 30_000, what: `answers from B through the VIP\n${client.output()}` });
  assert.equal(await gateways.a.stop('SIGTERM', 30_000), 0, 'the drained gateway exits 0');
  await waitFor(() => vrrpState(join(stateDir, 'state-b')) === 'MASTER', { what: 'the notify hook to record MASTER on B' });
  assert.equal(vrrpState(join(stateDir, 'state-a')), 'FAULT', 'the notify hook recorded the failed check on A');

  // The hooks ran as keepalived_script, not root: it wrote the state files.
  for (const n of ['a', 'b']) assert.equal(statSync(join(stateDir, `state-${n}`)).uid, scriptUser.uid, `state-${n} written by keepalived_script`);
  // The gateway's restart leaves the state file alone; A's check passes again and the hook records BACKUP.
  gateways.a = lab.gateway(await startGateway(gatewayConfig('a'), { prefix: ['ip', 'netns', 'exec', NS.a], timeoutMs: 60_000 }));
  await waitFor(() => vrrpState(join(stateDir, 'state-a')) === 'BACKUP', { timeoutMs: 30_000, what: `A back to BACKUP after the gateway's restart\n${kaA.output()}` });
  assert.equal(vrrpState(join(stateDir, 'state-b')), 'MASTER', 'nopreempt: B keeps the VIP');
  assert.doesNotMatch(kaA.output() + kaB.output(), /SECURITY VIOLATION|unsafe|not executable|cannot be run/i);

  client.proc.kill('SIGTERM');
  await client.exited;
  const all = results();
  const failed = all.filter((r) => !r.ok);
  const firstB = all.findIndex((r) => r.ok && r.node === 'B');
  t.diagnostic(`requests through the VIP: ${all.length}, answered by A: ${answeredBy('A')}, by B: ${answeredBy('B')}, failed: ${failed.length} ${JSON.stringify(failed.slice(0, 5))}`);
  const slow = all.filter((r) => r.ms > 500);
  t.diagnostic(`requests that waited for the VIP to move (> 500 ms): ${JSON.stringify(slow)}`);
  // Requests continued: A answered until the VIP moved, B after, never A again.
  assert.ok(firstB > 0);
  assert.ok(all.slice(firstB).every((r) => !r.ok || r.node === 'B'), 'no answer from A after B took over');
  // drain.delay keeps A serving until the VIP has moved, so new connections are never refused. A
  // request whose connection is open at the instant the VIP moves can still be lost: keepalived has
  // no connection sync, so the client's next packets reach B, which doesn't know the connection.
  // On a CPU-starved CI machine that window caught one request in one run; allow that one, no more.
  assert.ok(failed.length <= 1, `at most one request lost at the instant of the move, got ${JSON.stringify(failed)}`);
});
