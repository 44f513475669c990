// Issue #20 "What to build" 5: 1,000 silent TLS connections are all closed by the
// handshake timeout, and the gateway's fd count (/proc/PID/fd) returns to its baseline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startGateway, devTls } from './lib/gateway.ts';
import { startLoggingUpstream } from './lib/logging-upstream.ts';
import { fdCount } from './lib/clients.ts';
import { waitFor, within } from '../helpers/wait.ts';

const CONNECTIONS = 1000;
const clientScript = fileURLToPath(new URL('./lib/silent-clients.mjs', import.meta.url));
/** Raise the soft fd limit as far as the hard limit allows (at least the 1,000 sockets plus headroom are needed). */
const RAISE_NOFILE = ['sh', '-c', 'ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"', 'sh'];

interface Report { event: string; opened: number; failed: number; closedByServer: number; ms: number }

test('1,000 silent TLS connections are all closed by the handshake timeout; fds return to baseline', { timeout: 240_000 }, async (t) => {
  if (process.platform !== 'linux') return t.skip('needs /proc/PID/fd (Linux)');
  const upstream = await startLoggingUpstream();
  t.after(() => upstream.close());
  const gw = await startGateway({
    node: { id: 'sec-tls-load', region: 'jp' },
    listeners: [{ name: 'https', address: '127.0.0.1:0', protocol: 'https', tls: devTls(), handshakeTimeout: '2s', maxConnectionsPerClient: 2 * CONNECTIONS }],
    admin: { address: '127.0.0.1:0' },
    clusters: [{ name: 'logged', endpoints: [upstream.address] }],
    routes: [{ name: 'all', match: { path: { prefix: '/' } }, split: [{ cluster: 'logged', weight: 1 }] }],
  }, { prefix: RAISE_NOFILE });
  t.after(() => gw.stop());
  const pid = gw.ready.pid;
  const limit = /Max open files\s+(\d+)/.exec(await import('node:fs').then((fs) => fs.readFileSync(`/proc/${pid}/limits`, 'utf8')))?.[1];
  if (limit !== undefined && Number(limit) < CONNECTIONS + 200) return t.skip(`the gateway's fd limit is ${limit} (hard limit too low to raise): cannot hold ${CONNECTIONS} connections`);
  const baseline = fdCount(pid);
  assert.ok(baseline !== null);

  const port = gw.ready.listeners[0]!.port;
  const child = spawn(RAISE_NOFILE[0]!, [...RAISE_NOFILE.slice(1), process.execPath, clientScript, String(port), String(CONNECTIONS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const reports: Report[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    reports.push(JSON.parse(line) as Report);
    for (const w of waiters.splice(0)) w();
  });
  const event = (name: string, ms: number) =>
    within(new Promise<Report>((resolve) => {
      const check = () => {
        const r = reports.find((x) => x.event === name);
        if (r) resolve(r);
        else waiters.push(check);
      };
      check();
    }), `the clients' "${name}" report`, ms);

  const opened = await event('opened', 90_000);
  assert.equal(opened.failed, 0, `every connection was accepted: ${JSON.stringify(opened)}`);
  assert.equal(opened.opened, CONNECTIONS);
  const whileOpen = fdCount(pid);
  const closed = await event('closed', 120_000);
  assert.equal(closed.closedByServer, CONNECTIONS, `the gateway closed every silent connection: ${JSON.stringify(closed)}`);
  await waitFor(() => (fdCount(pid) ?? Infinity) <= baseline! + 2, { timeoutMs: 30_000, intervalMs: 250, what: `gateway fds back to the baseline ${baseline} (now ${fdCount(pid)})` });
  t.diagnostic(`fds: baseline ${baseline}, with ${CONNECTIONS} silent connections ${whileOpen}, after ${fdCount(pid)}; all closed ${closed.ms}ms after the first connect`);
  child.kill('SIGTERM');
});
