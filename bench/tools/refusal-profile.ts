/**
 * The rate-limit scenario's gateway under wrk: the route without a limit
 * (proxied) and the route whose limit refuses everything (429 from the
 * request head), alternately on the same process, each with its CPU per
 * request and the per-round refused/proxied ratio. --checkout DIR runs
 * DIR/dist/cli.js (a build of another revision); --only proxied|refused runs
 * one of them; with --prof DIR the gateway runs with --cpu-prof for
 * profile-summary.ts.
 *
 *   npm run build && npx tsx bench/tools/refusal-profile.ts [--rounds 5] [--seconds 3] [--prof DIR] [--only refused]
 */
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { runLoad } from '../lib/load.ts';
import { freePort, type Running } from '../lib/proc.ts';
import { nginxUpstream } from '../lib/nginx.ts';
import { startBuiltGateway, listenerPort } from '../lib/edgeplane.ts';
import { cpuMicros, median } from '../lib/cpu.ts';
import { config } from '../scenarios/rate-limit.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, seconds: { type: 'string', default: '3' }, prof: { type: 'string' }, only: { type: 'string' }, checkout: { type: 'string' } } });
const cleanup: Running[] = [];
try {
  const upstreamPort = await freePort();
  cleanup.push(await nginxUpstream(upstreamPort, 0));
  if (values.prof) mkdirSync(values.prof, { recursive: true });
  const gw = await startBuiltGateway({ ...config(upstreamPort), drain: { delay: '0s', timeout: '1s' } }, { core: 1, nodeArgs: values.prof ? ['--cpu-prof', '--cpu-prof-dir', values.prof] : [], checkout: values.checkout });
  cleanup.push(gw);
  const port = listenerPort(gw.ready, 'http');
  const url = `http://127.0.0.1:${port}/hello`;
  const subjects = [
    { name: 'proxied', host: 'plain.bench' },
    { name: 'refused', host: 'refuse.bench' },
  ].filter((s) => values.only === undefined || values.only === s.name);
  for (const s of subjects) await runLoad({ url, headers: { Host: s.host }, durationSec: 1, core: 0 });
  const cpu = subjects.map(() => [] as number[]);
  const served = subjects.map(() => 0);
  for (let r = 0; r < Number(values.rounds); r++) {
    for (let i = 0; i < subjects.length; i++) {
      const before = cpuMicros(gw.proc.pid!);
      const res = await runLoad({ url, headers: { Host: subjects[i]!.host }, durationSec: Number(values.seconds), core: 0 });
      cpu[i]!.push((cpuMicros(gw.proc.pid!) - before) / Math.max(1, res.total));
      served[i]! += res.total;
    }
  }
  for (let i = 0; i < subjects.length; i++) console.log(`${subjects[i]!.name.padEnd(8)} ${median(cpu[i]!).toFixed(1)} us CPU/req  rounds ${cpu[i]!.map((x) => x.toFixed(1)).join(' ')}  requests ${served[i]}`);
  if (subjects.length === 2) {
    const ratios = cpu[1]!.map((c, r) => c / cpu[0]![r]!);
    console.log(`refused/proxied per round ${ratios.map((x) => x.toFixed(2)).join(' ')}, median ${median(ratios).toFixed(2)} (goal <= 0.3)`);
  }
  console.log(`gateway pid ${gw.proc.pid}`);
} finally {
  for (const p of cleanup.reverse()) await p.stop();
}
