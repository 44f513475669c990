/**
 * The cached-token path of JWT authentication alone, in-process: ns per
 * authenticate() call for the bench's ES256 and RS256 tokens (the same
 * provider and route as bench/scenarios/jwt.ts), with and without building
 * the node:http header object first. No sockets: this isolates the JWT
 * code's own cost from the noise of a shared machine.
 *
 * Best of --reps interleaved runs (the machine's noise only ever adds time).
 *
 *   npx tsx bench/tools/jwt-micro.ts [--n 100000] [--reps 7]
 */
import { parseArgs } from 'node:util';
import { JwtAuthenticator } from '../../src/edge/jwt/index.ts';
import { NativeRequest } from '../../src/edge/http1/messages.ts';
import type { RequestHead } from '../../src/edge/http1/request-parser.ts';
import { gatewayConfig, devToken } from '../scenarios/jwt.ts';
import { repoRoot } from '../lib/edgeplane.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '100000' }, reps: { type: 'string', default: '7' } } });
const n = Number(values.n);
const cfg = gatewayConfig(1, true);
const auth = new JwtAuthenticator(cfg.jwt as never, { baseDir: repoRoot });
await auth.start();
const req = auth.compile(cfg.routes[1]!.auth as never);
const best = new Map<string, number>();
for (let rep = 0; rep < Number(values.reps); rep++) for (const alg of ['ES256', 'RS256'] as const) {
  const token = await devToken(alg === 'ES256' ? 'es256' : 'rs256');
  const raw = ['Host', 'secure.svc.plus', 'Authorization', `Bearer ${token}`];
  const request = () => new NativeRequest({ rawHeaders: raw, method: 'GET', url: '/hello', versionMinor: 1 } as unknown as RequestHead, { remoteAddress: '127.0.0.1' });
  const first = await auth.authenticate(req, request().headers, '/hello');
  if (!first.ok) throw new Error(`${alg}: ${JSON.stringify(first)}`);
  for (const [label, headersOf] of [['authenticate(headers)', (r: NativeRequest) => r.headers], ['authenticate(request)', (r: NativeRequest) => r]] as const) {
    let ok = 0;
    const once = () => {
      const o = auth.authenticate(req, headersOf(request()) as never, '/hello');
      if (!(o instanceof Promise) && o.ok) ok++;
    };
    for (let i = 0; i < n / 4; i++) once();
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) once();
    const ns = Number(process.hrtime.bigint() - t) / n;
    if (ok < n) throw new Error(`${alg} ${label}: ${n + n / 4 - ok} not ok`);
    const name = `${alg} token ${token.length} chars  ${label.padEnd(22)}`;
    best.set(name, Math.min(best.get(name) ?? Infinity, ns));
  }
}
for (const [name, ns] of best) console.log(`${name} ${ns.toFixed(0)} ns/request (best of ${values.reps})`);
auth.close();
