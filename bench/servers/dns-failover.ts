/**
 * Benchmark subject for the region-change figure (bench/scenarios/dns.ts):
 * edgeplane's DNS server with the bench zone signed online (key file in
 * argv[2]) and a region view the bench flips: each SIGUSR2 toggles region jp
 * between up and down (what the gossip aggregator does on a health change)
 * and prints `{"change":N,"jp":"down"|"up","at":<wall-clock µs>}` taken just
 * before the view changes. Also serves `multi` (answers: all), whose new
 * address set after a change is signed on first use. Prints `{"port":N}`
 * once listening; exits on SIGTERM.
 */
import { DnsServer } from '../../src/dns/server.ts';
import { StaticRegionView } from '../../src/dns/region-view.ts';
import { benchDnsConfig } from './dns-zone.ts';

const keyFile = process.argv[2];
if (!keyFile) throw new Error('usage: dns-failover.ts KEYFILE');
const config = benchDnsConfig('127.0.0.1:0');
const zone = config.zones[0]!;
zone.gtm!.push({ name: 'multi', ttl: 30, answers: 'all', regions: [{ region: 'jp', vips: ['203.0.113.20', '203.0.113.21'], weight: 120 }, { region: 'sg', vips: ['198.51.100.20', '198.51.100.21'], weight: 80 }] });
zone.dnssec = { keys: [{ file: keyFile }] };
config.rrl = { enabled: false };
const view = new StaticRegionView();
view.set('jp', { state: 'up', health: 1 });
view.set('sg', { state: 'up', health: 1 });
const server = new DnsServer({ config, regionView: view });
await server.start();
process.stdout.write(JSON.stringify({ port: server.addresses().udp[0]!.port }) + '\n');

const wallMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
let changes = 0;
let jpDown = false;
process.on('SIGUSR2', () => {
  jpDown = !jpDown;
  const at = wallMicros();
  view.set('jp', jpDown ? { state: 'down', health: 0 } : { state: 'up', health: 1 });
  process.stdout.write(JSON.stringify({ change: ++changes, jp: jpDown ? 'down' : 'up', at }) + '\n');
});
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
