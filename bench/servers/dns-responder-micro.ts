/**
 * The responder's own CPU per answer, in-process (no sockets): the bench zone
 * (bench/servers/dns-zone.ts) compiled as the server does, and Responder.answer()
 * called in a loop on a few query shapes. The DNS scenario's socket figures
 * are node:dgram plus this; run it to see which side a change moved.
 * Usage: node --import tsx bench/servers/dns-responder-micro.ts [N]
 */
import { AnswerCache } from '../../src/dns/answer/cache.ts';
import { GeoLocator } from '../../src/dns/geo/locator.ts';
import { compileZones } from '../../src/dns/zone/compile.ts';
import { ResponseRateLimiter, rrlSettings } from '../../src/dns/rrl.ts';
import { StaticRegionView } from '../../src/dns/region-view.ts';
import { Responder } from '../../src/dns/responder.ts';
import { identityFrom } from '../../src/dns/identity.ts';
import { buildQuery } from '../../src/dns/wire/build-query.ts';
import { systemClock } from '../../src/util/clock.ts';
import { mathRng } from '../../src/util/rng.ts';
import { benchDnsConfig, BENCH_NAME } from './dns-zone.ts';

const N = Number(process.argv[2] ?? 500_000);
const config = benchDnsConfig('127.0.0.1:0');
const { zones } = compileZones(config);
const view = new StaticRegionView();
const cache = new AnswerCache(zones, new GeoLocator(config.geo!.networks!), view);
const rrl = new ResponseRateLimiter(rrlSettings({ enabled: false }), systemClock);
const responder = new Responder({ cache, rrl, udpSize: 1232, maxCandidates: 4, identity: identityFrom({ serverId: false }), nowSeconds: () => Math.floor(Date.now() / 1000) }, mathRng);

const shapes: [string, Buffer, string][] = [
  ['GTM A, EDNS, unplaced client (weighted pick)', buildQuery(BENCH_NAME, { id: 7, edns: {} }), '127.0.0.1'],
  ['GTM A, EDNS, jp client (geo)', buildQuery(BENCH_NAME, { id: 7, edns: {} }), '203.0.113.9'],
  ['GTM A, no EDNS, unplaced', buildQuery(BENCH_NAME, { id: 7 }), '127.0.0.1'],
  ['static A (ns1), EDNS', buildQuery('ns1.svc.plus', { id: 7, edns: {} }), '127.0.0.1'],
];
for (const [what, q, address] of shapes) {
  for (let i = 0; i < 50_000; i++) responder.answer(q, address, false); // warm (JIT)
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) responder.answer(q, address, false);
  const used = process.cpuUsage(t0);
  console.log(`${what.padEnd(48)} ${(((used.user + used.system) / N) * 1000).toFixed(0)} ns/answer`);
}
