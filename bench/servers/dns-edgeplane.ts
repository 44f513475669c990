/**
 * Benchmark subject: edgeplane's DNS responder alone, serving the bench zone
 * (see bench/scenarios/dns.ts). Prints `{"port":N}` once listening; exits on
 * SIGTERM.
 * Usage: node --import tsx bench/servers/dns-edgeplane.ts
 */
import { DnsServer } from '../../src/dns/server.ts';
import { StaticRegionView } from '../../src/dns/region-view.ts';
import { benchDnsConfig } from './dns-zone.ts';

const view = new StaticRegionView();
view.set('jp', { state: 'up', health: 1 });
view.set('sg', { state: 'up', health: 1 });
const server = new DnsServer({ config: benchDnsConfig('127.0.0.1:0'), regionView: view });
await server.start();
process.stdout.write(JSON.stringify({ port: server.addresses().udp[0]!.port }) + '\n');
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
