import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { SignJWT } from 'jose';
import type { BenchResult, ScenarioOptions } from '../lib/result.ts';
import { runLoad, type LoadResult } from '../lib/load.ts';
import { ensureTool, which } from '../lib/tools.ts';
import { start, waitForPort, freePort, type Running } from '../lib/proc.ts';
import { nginxUpstream } from '../lib/nginx.ts';
import { startEdgeplane, repoRoot } from '../lib/edgeplane.ts';

/**
 * The cost of JWT at the edge: the same gateway process serves a route without
 * auth (the anchor) and routes requiring an ES256 or RS256 token, with the
 * same token on every request (the verified-token cache's case). A second
 * gateway with the cache off shows the cost of verifying every request.
 * Pinning as in the proxy scenario: gateway on core 1, load and upstream on core 0.
 */
const SERVER_CORE = 1;
const CLIENT_CORE = 0;
const ISSUER = 'https://auth.svc.plus/';
const AUDIENCE = 'api.svc.plus';

export async function run(options: ScenarioOptions): Promise<BenchResult[]> {
  // Short rounds, interleaved: on a shared 2-core machine throughput drifts by 2x within a minute,
  // so each JWT row is compared with the no-JWT row of the same round and the median ratio is reported.
  const rounds = options.ci ? 1 : 5;
  const durationSec = options.ci ? 2 : 4;
  const warmupSec = options.ci ? 1 : 2;
  const results: BenchResult[] = [];
  const cleanup: Running[] = [];
  try {
    const upstreamPort = await freePort();
    if (ensureTool('nginx', 'nginx')) {
      const up = start([...(which('taskset') ? ['taskset', '-c', String(CLIENT_CORE)] : []), process.execPath, '--import', 'tsx', join(repoRoot, 'bench/servers/node-upstream.ts'), String(upstreamPort)], { cwd: repoRoot });
      cleanup.push(up);
      await waitForPort(upstreamPort, '127.0.0.1', 15_000, up);
    } else {
      cleanup.push(await nginxUpstream(upstreamPort, CLIENT_CORE));
    }
    const tokens = { ES256: await devToken('es256'), RS256: await devToken('rs256') };
    const subjects = [
      { name: 'no JWT', host: 'plain.svc.plus', token: undefined },
      { name: 'ES256', host: 'secure.svc.plus', token: tokens.ES256 },
      { name: 'RS256', host: 'secure.svc.plus', token: tokens.RS256 },
    ];

    for (const cache of [true, false]) {
      const gw = await startEdgeplane(gatewayConfig(upstreamPort, cache), SERVER_CORE);
      cleanup.push(gw);
      const port = (gw.ready.listeners as { name: string; port: number }[]).find((l) => l.name === 'http')!.port;
      const url = `http://127.0.0.1:${port}/hello`;
      const headers = (s: (typeof subjects)[number]): Record<string, string> => ({ Host: s.host, ...(s.token ? { Authorization: `Bearer ${s.token}` } : {}) });
      for (const s of subjects) await runLoad({ url, headers: headers(s), durationSec: warmupSec, core: CLIENT_CORE });
      const runs: LoadResult[][] = subjects.map(() => []);
      const cpu: number[][] = subjects.map(() => []);
      const pid = gw.proc.pid!;
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < subjects.length; i++) {
          const before = cpuMicros(pid);
          const result = await runLoad({ url, headers: headers(subjects[i]!), durationSec, core: CLIENT_CORE });
          const used = cpuMicros(pid) - before;
          runs[i]!.push(result);
          cpu[i]!.push(result.total > 0 ? used / result.total : 0);
        }
      }
      await gw.stop();
      const label = cache ? 'cache on' : 'cache off';
      const rows = subjects.map((s, i) => summarize(`${s.name} (${label})`, runs[i]!, rounds, durationSec));
      const anchor = rows[0]!;
      results.push(anchor);
      for (let i = 1; i < subjects.length; i++) {
        const ratios = runs[i]!.map((x, r) => x.rps / Math.max(1, runs[0]![r]!.rps));
        const ratio = Math.round(median(ratios) * 100) / 100;
        const row: BenchResult = { ...rows[i]!, anchor: anchor.subject, ratio, note: `${rows[i]!.note}; per-round ratios ${ratios.map((x) => x.toFixed(2)).join(' ')}` };
        if (cache) row.goal = { description: '>= 0.9x no JWT (median of per-round ratios)', met: ratio >= 0.9 };
        results.push(row);
      }
      // CPU time the gateway spent per request: unlike req/s it hardly moves when other
      // processes compete for the core, so it shows the cost of JWT even on a busy machine.
      // Capacity ratio = anchor's CPU per request / this row's.
      const cpuAnchor = median(cpu[0]!);
      results.push({ scenario: 'jwt', subject: `no JWT (${label}) CPU/req`, metric: 'us CPU/req', value: round1(cpuAnchor), errors: 0, note: 'gateway utime+stime / requests' });
      for (let i = 1; i < subjects.length; i++) {
        const ratios = cpu[i]!.map((c, r) => cpu[0]![r]! / Math.max(1e-9, c));
        const ratio = Math.round(median(ratios) * 100) / 100;
        const row: BenchResult = {
          scenario: 'jwt',
          subject: `${subjects[i]!.name} (${label}) CPU/req`,
          metric: 'us CPU/req',
          value: round1(median(cpu[i]!)),
          errors: 0,
          anchor: `no JWT (${label}) CPU/req`,
          ratio,
          note: `capacity ratio (anchor CPU/req / this); per-round ${ratios.map((x) => x.toFixed(2)).join(' ')}`,
        };
        if (cache) row.goal = { description: '>= 0.9x no JWT capacity', met: ratio >= 0.9 };
        results.push(row);
      }
    }
  } finally {
    for (const p of cleanup.reverse()) await p.stop();
  }
  return results;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

let clockTicks: number | undefined;
/** User + system CPU time of a process in microseconds (Linux /proc). */
function cpuMicros(pid: number): number {
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median req/s and latencies over the rounds; errors and requests summed. */
function summarize(subject: string, runs: LoadResult[], rounds: number, durationSec: number): BenchResult {
  return {
    scenario: 'jwt',
    subject,
    metric: 'req/s',
    value: Math.round(median(runs.map((r) => r.rps))),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    p999Ms: median(runs.map((r) => r.p999Ms)),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    total: runs.reduce((n, r) => n + r.total, 0),
    note: `median of ${rounds} interleaved ${durationSec}s rounds, same token on every request; ${runs[0]?.tool ?? ''}`,
  };
}

/** A dev token (certs-dev/jwt) valid for the whole run. */
export async function devToken(file: 'es256' | 'rs256'): Promise<string> {
  const key = createPrivateKey(readFileSync(join(repoRoot, `certs-dev/jwt/${file}.key.pem`), 'utf8'));
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: 'read' })
    .setProtectedHeader({ alg: file === 'es256' ? 'ES256' : 'RS256', kid: `dev-${file}`, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('bench')
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(key);
}

export function gatewayConfig(upstreamPort: number, cache: boolean) {
  const upstream = `127.0.0.1:${upstreamPort}`;
  const split = [{ cluster: 'api', weight: 1 }];
  return {
    node: { id: 'bench-jwt', region: 'bench' },
    logging: { level: 'warn', accessLog: false },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    admin: { address: '127.0.0.1:0' },
    clusters: [{ name: 'api', endpoints: [upstream] }],
    routes: [
      { name: 'plain', match: { hosts: ['plain.svc.plus'], path: { prefix: '/' } }, split },
      { name: 'secure', match: { hosts: ['secure.svc.plus'], path: { prefix: '/' } }, split, auth: { jwt: 'main', scopes: ['read'] } },
    ],
    jwt: {
      cache: { enabled: cache },
      providers: [{
        name: 'main',
        issuer: ISSUER,
        audiences: [AUDIENCE],
        jwks: { file: join(repoRoot, 'certs-dev/jwks.json') },
        claimsToHeaders: [{ claim: 'sub', header: 'x-jwt-sub' }],
      }],
    },
  };
}

export const available = () => which('taskset') !== null;
