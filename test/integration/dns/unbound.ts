import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { RRType } from '../../../src/dns/wire/constants.ts';
import { udpExchange } from './helpers.ts';

export function which(bin: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${bin} || ls /usr/sbin/${bin} 2>/dev/null`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim().split('\n')[0]! : null;
}

export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Unbound {
  port: number;
  log(): string;
  stop(): Promise<void>;
}

/**
 * A validating unbound that sends every query for `zone` to our server (a
 * stub zone) and trusts only `ds` (presentation RDATA of DS records: the
 * parent's DS set) for it.
 */
export async function startUnbound(zone: string, authPort: number, ds: string | string[]): Promise<Unbound> {
  const bin = which('unbound');
  if (!bin) throw new Error('unbound is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-unbound-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freeUdpPort();
    writeFileSync(join(dir, 'unbound.conf'), [
      'server:',
      '  interface: 127.0.0.1',
      `  port: ${port}`,
      '  do-ip6: no',
      '  num-threads: 1',
      '  so-reuseport: no',
      '  username: ""',
      '  chroot: ""',
      `  directory: "${dir}"`,
      `  pidfile: "${dir}/unbound.pid"`,
      '  use-syslog: no',
      '  verbosity: 1',
      '  val-log-level: 2',
      '  do-not-query-localhost: no',
      '  access-control: 127.0.0.0/8 allow',
      '  module-config: "validator iterator"',
      '  qname-minimisation: no',
      '  harden-referral-path: no',
      '  target-fetch-policy: "0 0 0 0 0"',
      '  prefetch: no',
      ...(Array.isArray(ds) ? ds : [ds]).map((d) => `  trust-anchor: "${zone}. DS ${d}"`),
      'remote-control:',
      '  control-enable: no',
      'stub-zone:',
      `  name: "${zone}"`,
      `  stub-addr: 127.0.0.1@${authPort}`,
      '',
    ].join('\n'));
    const proc: ChildProcess = spawn(bin, ['-d', '-c', join(dir, 'unbound.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stdout!.on('data', (d) => (log += d));
    proc.stderr!.on('data', (d) => (log += d));
    const deadline = Date.now() + 10_000;
    let up = false;
    while (Date.now() < deadline && proc.exitCode === null) {
      // any reply means it listens (the query is outside the stub: REFUSED or SERVFAIL is fine)
      if (await udpExchange(port, buildQuery('localhost', { type: RRType.A }), '127.0.0.1', 200)) {
        up = true;
        break;
      }
    }
    if (up) {
      return {
        port,
        log: () => log,
        stop: () => new Promise<void>((r) => {
          if (proc.exitCode !== null) {
            rmSync(dir, { recursive: true, force: true });
            return r();
          }
          proc.once('exit', () => {
            rmSync(dir, { recursive: true, force: true });
            r();
          });
          proc.kill('SIGTERM');
        }),
      };
    }
    proc.kill('SIGKILL');
    if (attempt >= 2) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`unbound did not start:\n${log}`);
    }
  }
}
