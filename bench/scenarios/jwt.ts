import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { compare, type BenchResult, type ScenarioOptions } from '../lib/result.ts';
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
  const durationSec = options.ci ? 3 : 10;
  const warmupSec = options.ci ? 1 : 3;
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

    const measure = async (port: number, host: string, token?: string): Promise<LoadResult> => {
      const headers: Record<string, string> = { Host: host, ...(token ? { Authorization: `Bearer ${token}` } : {}) };
      const url = `http://127.0.0.1:${port}/hello`;
      await runLoad({ url, headers, durationSec: warmupSec, core: CLIENT_CORE });
      return runLoad({ url, headers, durationSec, core: CLIENT_CORE });
    };
    const row = (subject: string, r: LoadResult, note: string): BenchResult => ({
      scenario: 'jwt',
      subject,
      metric: 'req/s',
      value: r.rps,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      p999Ms: r.p999Ms,
      errors: r.errors,
      total: r.total,
      note: `${note}; ${r.tool}`,
    });

    for (const cache of [true, false]) {
      const gw = await startEdgeplane(gatewayConfig(upstreamPort, cache), SERVER_CORE);
      const port = (gw.ready.listeners as { name: string; port: number }[]).find((l) => l.name === 'http')!.port;
      const label = cache ? 'cache on' : 'cache off';
      // The anchor is measured in the same process, before and after, so drift shows instead of skewing the ratio.
      const before = row(`no JWT (${label})`, await measure(port, 'plain.svc.plus'), 'same gateway, route without auth');
      const es = row(`ES256 (${label})`, await measure(port, 'secure.svc.plus', tokens.ES256), 'same token on every request');
      const rs = row(`RS256 (${label})`, await measure(port, 'secure.svc.plus', tokens.RS256), 'same token on every request');
      const after = row(`no JWT again (${label})`, await measure(port, 'plain.svc.plus'), 'anchor re-measured after the JWT rows');
      await gw.stop();
      const anchor: BenchResult = { ...before, value: Math.round((before.value + after.value) / 2), subject: `no JWT (${label}, mean)` };
      results.push(before, after, compare(es, anchor, cache ? 0.9 : undefined), compare(rs, anchor, cache ? 0.9 : undefined));
    }
  } finally {
    for (const p of cleanup.reverse()) await p.stop();
  }
  return results;
}

/** A dev token (certs-dev/jwt) valid for the whole run. */
async function devToken(file: 'es256' | 'rs256'): Promise<string> {
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

function gatewayConfig(upstreamPort: number, cache: boolean) {
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
