/**
 * The proxy hot path against its floor, for profiling work: a bare node:http +
 * undici Pool.dispatch pass-through and edgeplane (the proxy scenario's config:
 * one route, 90/10 split, metrics on), both on core 1, the nginx upstream and
 * wrk on core 0, interleaved rounds. Reports req/s and, the number that
 * matters on a shared machine, each server's CPU time per request.
 *
 *   npm run build && npx tsx bench/tools/hotpath.ts [--rounds 5] [--seconds 4] [--prof DIR]
 *
 * --prof DIR runs both servers with --cpu-prof (CPU.<date>.<pid>.0.*.cpuprofile in DIR on exit; thread 0 is the
 * main thread), summarise with bench/tools/profile-summary.ts --requests N;
 * open it in Chrome DevTools or speedscope.
 * --raw adds bench/servers/raw-proxy.ts (a minimal proxy on net sockets: the floor for JavaScript).
 * --baseline DIR adds a second edgeplane built from another checkout (DIR/dist/cli.js), e.g.
 * `git archive HEAD | tar -x -C /tmp/base && (cd /tmp/base && ln -s $PWD/node_modules && npx tsc -p tsconfig.build.json)`,
 * so a hot-path change is measured before/after in the same interleaved rounds.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { runLoad } from '../lib/load.ts';
import { pin } from '../lib/tools.ts';
import { start, waitForPort, freePort, type Running } from '../lib/proc.ts';
import { nginxUpstream, nginxProxy } from '../lib/nginx.ts';
import { repoRoot, startBuiltGateway, listenerPort } from '../lib/edgeplane.ts';
import { cpuMicros, cpuSplitMicros, treeCpuMicros, median } from '../lib/cpu.ts';
import { gatewayConfig } from '../scenarios/proxy.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, seconds: { type: 'string', default: '4' }, prof: { type: 'string' }, connections: { type: 'string', default: '50' }, baseline: { type: 'string' }, nginx: { type: 'boolean', default: false }, raw: { type: 'boolean', default: false }, 'node-flags': { type: 'string' } } });
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const cleanup: Running[] = [];
try {
  const upstreamPort = await freePort();
  cleanup.push(await nginxUpstream(upstreamPort, 0));
  const barePort = await freePort();
  const prof = values.prof ? ['--cpu-prof', '--cpu-prof-dir', values.prof] : [];
  if (values.prof) mkdirSync(values.prof, { recursive: true });
  const bare = start([...pin(1), process.execPath, ...prof, '--import', 'tsx', join(repoRoot, 'bench/servers/bare-proxy.ts'), String(barePort), String(upstreamPort)], { cwd: repoRoot });
  cleanup.push(bare);
  await waitForPort(barePort, '127.0.0.1', 15_000, bare);

  const startGateway = async (checkout: string | undefined, flags: string[] = []): Promise<{ port: number; pid: number }> => {
    // No drain delay: the profile is written when the process exits, before proc.ts's kill deadline.
    const gw = await startBuiltGateway({ ...gatewayConfig(upstreamPort), drain: { delay: '0s', timeout: '1s' } }, { core: 1, nodeArgs: [...flags, ...prof], checkout });
    cleanup.push(gw);
    return { port: listenerPort(gw.ready, 'http'), pid: gw.proc.pid! };
  };
  // --node-flags '...': node/V8 flags for the first gateway only (e.g. GC settings, measured against --baseline .).
  const gw = await startGateway(undefined, values['node-flags']?.split(' ').filter(Boolean) ?? []);
  const base = values.baseline ? await startGateway(values.baseline) : null;

  // --nginx: nginx 1 worker (proxy_pass, upstream keepalive) on core 1 as another interleaved subject, so CPU
  // per request is compared to nginx within the same rounds (its worker is a child: tree CPU).
  let nginx: { name: string; port: number; pid: number; tree: boolean } | null = null;
  if (values.nginx) {
    const port = await freePort();
    const p = await nginxProxy({ port, upstreamPort, core: 1 });
    cleanup.push(p);
    nginx = { name: 'nginx', port, pid: p.proc.pid!, tree: true };
  }
  // --raw: the floor for any JavaScript proxy (bench/servers/raw-proxy.ts: GET only, no header policy) as another subject.
  let raw: { name: string; port: number; pid: number; tree: boolean } | null = null;
  if (values.raw) {
    const port = await freePort();
    const p = start([...pin(1), process.execPath, '--import', 'tsx', join(repoRoot, 'bench/servers/raw-proxy.ts'), String(port), String(upstreamPort)], { cwd: repoRoot });
    cleanup.push(p);
    await waitForPort(port, '127.0.0.1', 15_000, p);
    raw = { name: 'raw net floor', port, pid: p.proc.pid!, tree: false };
  }
  const subjects = [
    { name: 'bare node+undici', port: barePort, pid: bare.proc.pid!, tree: false },
    { name: 'edgeplane', port: gw.port, pid: gw.pid, tree: false },
    ...(base ? [{ name: 'edgeplane baseline', port: base.port, pid: base.pid, tree: false }] : []),
    ...(raw ? [raw] : []),
    ...(nginx ? [nginx] : []),
  ];
  const cpuOf = (s: { pid: number; tree: boolean }) => (s.tree ? treeCpuMicros(s.pid) : cpuMicros(s.pid));
  const connections = Number(values.connections);
  for (const s of subjects) await runLoad({ url: `http://127.0.0.1:${s.port}/hello`, headers: { Host: 'api.svc.plus' }, durationSec: 2, core: 0, connections });
  const cpu = subjects.map(() => [] as number[]);
  const served = subjects.map(() => 0);
  const rps = subjects.map(() => [] as number[]);
  // The system share (kernel: socket reads and writes, epoll) of each single-process subject's CPU time.
  const sys = subjects.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < subjects.length; i++) {
      const s = subjects[i]!;
      const before = cpuOf(s);
      const splitBefore = cpuSplitMicros(s.pid);
      const res = await runLoad({ url: `http://127.0.0.1:${s.port}/hello`, headers: { Host: 'api.svc.plus' }, durationSec: seconds, core: 0, connections });
      const used = cpuOf(s) - before;
      const splitAfter = cpuSplitMicros(s.pid);
      const split = splitAfter[0] - splitBefore[0] + splitAfter[1] - splitBefore[1];
      if (!s.tree && split > 0) sys[i]!.push((splitAfter[1] - splitBefore[1]) / split);
      if (res.errors > 0) console.error(`${s.name}: ${res.errors} errors`);
      cpu[i]!.push(used / Math.max(1, res.total));
      rps[i]!.push(res.rps);
      served[i]! += res.total;
    }
  }
  const floor = median(cpu[0]!);
  for (let i = 0; i < subjects.length; i++) {
    const c = median(cpu[i]!);
    console.log(`${subjects[i]!.name.padEnd(20)} ${String(Math.round(median(rps[i]!))).padStart(6)} req/s  ${c.toFixed(1).padStart(6)} us CPU/req  ${(c / floor).toFixed(2)}x bare   rounds: ${cpu[i]!.map((x) => x.toFixed(1)).join(' ')}  requests: ${served[i]}  system ${sys[i]!.length > 0 ? `${Math.round(100 * median(sys[i]!))}%` : '-'}  pid ${subjects[i]!.pid}`);
  }
  if (base) {
    // Paired per round: both ran within seconds of each other, so the ratio cancels most of the drift.
    const ratios = cpu[1]!.map((c, r) => c / cpu[2]![r]!);
    console.log(`edgeplane / baseline CPU per request, per round: ${ratios.map((x) => x.toFixed(3)).join(' ')}; median ${median(ratios).toFixed(3)}`);
  }
  if (nginx) {
    const n = subjects.length - 1;
    for (const i of [1, ...(base ? [2] : []), ...(raw ? [subjects.indexOf(raw)] : [])]) {
      const perRound = cpu[n]!.map((c, r) => c / cpu[i]![r]!);
      const rpsRound = rps[i]!.map((x, r) => x / rps[n]![r]!);
      console.log(`${subjects[i]!.name}: nginx us / edgeplane us per round ${perRound.map((x) => x.toFixed(2)).join(' ')}, median ${median(perRound).toFixed(2)} (goal >= 0.6); req/s vs nginx median ${median(rpsRound).toFixed(2)}`);
    }
  }
} finally {
  for (const p of cleanup.reverse()) await p.stop();
}
