/**
 * The JWT scenario's gateway (cache on) under wrk, the no-JWT route and the
 * ES256 route alternately on the same process, each with its CPU per request;
 * --checkout DIR runs DIR/dist/cli.js (a build of another revision);
 * --only plain|jwt runs one of them; with --prof DIR the gateway runs with --cpu-prof for profile-summary.ts.
 *
 *   npm run build && npx tsx bench/tools/jwt-profile.ts [--rounds 3] [--seconds 5] [--prof DIR] [--alg ES256|RS256|ES256,RS256] [--control]
 */
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { runLoad } from '../lib/load.ts';
import { freePort, type Running } from '../lib/proc.ts';
import { nginxUpstream } from '../lib/nginx.ts';
import { startBuiltGateway, listenerPort } from '../lib/edgeplane.ts';
import { cpuMicros, median } from '../lib/cpu.ts';
import { gatewayConfig, devToken } from '../scenarios/jwt.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '5' }, prof: { type: 'string' }, alg: { type: 'string', default: 'ES256' }, only: { type: 'string' }, control: { type: 'boolean' }, checkout: { type: 'string' } } });
const cleanup: Running[] = [];
try {
  const upstreamPort = await freePort();
  cleanup.push(await nginxUpstream(upstreamPort, 0));
  if (values.prof) mkdirSync(values.prof, { recursive: true });
  const gw = await startBuiltGateway({ ...gatewayConfig(upstreamPort, true), drain: { delay: '0s', timeout: '1s' } }, { core: 1, nodeArgs: values.prof ? ['--cpu-prof', '--cpu-prof-dir', values.prof] : [], checkout: values.checkout });
  cleanup.push(gw);
  const port = listenerPort(gw.ready, 'http');
  // --alg ES256,RS256: both token kinds interleaved with the no-JWT route in the same rounds.
  const algs = values.alg!.split(',');
  const all: { name: string; headers: Record<string, string> }[] = [{ name: 'no JWT', headers: { Host: 'plain.svc.plus' } }];
  for (const alg of algs) all.push({ name: alg, headers: { Host: 'secure.svc.plus', Authorization: `Bearer ${await devToken(alg === 'RS256' ? 'rs256' : 'es256')}` } });
  // --control: the no-JWT route carrying the same tokens (forwarded upstream there): what the bytes alone cost.
  if (values.control) for (const s of all.slice(1)) all.push({ name: `${s.name}-on-plain`, headers: { ...s.headers, Host: 'plain.svc.plus' } });
  // --only jwt|plain: one kind of subject only (a profile of just that request kind).
  const subjects = all.filter((s, i) => values.only === undefined || (values.only === 'plain') === (i === 0));
  const url = `http://127.0.0.1:${port}/hello`;
  for (const s of subjects) await runLoad({ url, headers: s.headers, durationSec: 2, core: 0 });
  const cpu = subjects.map(() => [] as number[]);
  const served = subjects.map(() => 0);
  for (let r = 0; r < Number(values.rounds); r++) {
    for (let i = 0; i < subjects.length; i++) {
      const before = cpuMicros(gw.proc.pid!);
      const res = await runLoad({ url, headers: subjects[i]!.headers, durationSec: Number(values.seconds), core: 0 });
      if (res.errors > 0) console.error(`${subjects[i]!.name}: ${res.errors} errors`);
      cpu[i]!.push((cpuMicros(gw.proc.pid!) - before) / Math.max(1, res.total));
      served[i]! += res.total;
    }
  }
  for (let i = 0; i < subjects.length; i++) console.log(`${subjects[i]!.name.padEnd(14)} ${median(cpu[i]!).toFixed(1)} us CPU/req  rounds ${cpu[i]!.map((x) => x.toFixed(1)).join(' ')}  requests ${served[i]}`);
  for (let i = 1; i < subjects.length && values.only === undefined; i++) {
    const ratios = cpu[i]!.map((c, r) => cpu[0]![r]! / c);
    console.log(`${subjects[i]!.name}: capacity ratio (no JWT us / JWT us) per round ${ratios.map((x) => x.toFixed(2)).join(' ')}, median ${median(ratios).toFixed(2)} (goal >= 0.9)`);
  }
  console.log(`gateway pid ${gw.proc.pid}`);
} finally {
  for (const p of cleanup.reverse()) await p.stop();
}
