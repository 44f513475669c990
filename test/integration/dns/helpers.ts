import dgram from 'node:dgram';
import net from 'node:net';
import type { DnsConfig } from '../../../src/config/schema/index.ts';
import { DnsServer, type DnsServerOptions } from '../../../src/dns/server.ts';
import { StaticRegionView } from '../../../src/dns/region-view.ts';
import { decodeMessage, type DecodedMessage } from '../../../src/dns/wire/decode.ts';
import { seededRng } from '../../../src/util/rng.ts';

/** The static zone most protocol tests use (also served by knotd in the cross-check). */
export function testZone(): DnsConfig['zones'][number] {
  return {
    origin: 'svc.plus',
    soa: { mname: 'ns1.svc.plus', rname: 'hostmaster.svc.plus', serial: 7, refresh: 3600, retry: 600, expire: 86400, minimum: 30, ttl: 3600 },
    nameservers: ['ns1.svc.plus', 'ns2.svc.plus'],
    records: [
      { name: 'ns1', type: 'A', value: '203.0.113.53' },
      { name: 'ns2', type: 'A', value: '198.51.100.53' },
      { name: 'ns2', type: 'AAAA', value: '2001:db8::53' },
      { name: 'static', type: 'A', value: '192.0.2.10', ttl: 300 },
      { name: 'static', type: 'A', value: '192.0.2.11', ttl: 300 },
      { name: 'static', type: 'AAAA', value: '2001:db8::10', ttl: 300 },
      { name: 'www', type: 'CNAME', value: 'static.svc.plus' },
      { name: 'dangling', type: 'CNAME', value: 'nowhere.svc.plus' },
      { name: 'away', type: 'CNAME', value: 'example.net' },
      { name: 'a.b.c', type: 'A', value: '192.0.2.1' },
      { name: '@', type: 'MX', value: '10 mail.svc.plus' },
      { name: 'mail', type: 'A', value: '192.0.2.25' },
      { name: '_sip._tcp', type: 'SRV', value: '1 2 5060 ns1.svc.plus' },
      { name: '@', type: 'CAA', value: '0 issue "letsencrypt.org"' },
      { name: 'txt', type: 'TXT', value: '"hello world" "second"' },
      { name: 'big', type: 'TXT', value: Array.from({ length: 8 }, (_, i) => `"${String(i).repeat(200)}"`).join(' ') },
      { name: 'mid', type: 'TXT', value: Array.from({ length: 3 }, (_, i) => `"${String(i).repeat(200)}"`).join(' ') },
      { name: 'sub', type: 'NS', value: 'ns.sub.svc.plus' },
      { name: 'sub', type: 'NS', value: 'ns1.svc.plus' },
      { name: 'ns.sub', type: 'A', value: '192.0.2.53' },
      { name: 'ptr', type: 'PTR', value: 'static.svc.plus' },
    ],
  };
}

/** The same zone in zone-file syntax for knotd. */
export function testZoneFile(): string {
  const z = testZone();
  const lines = [
    '$ORIGIN svc.plus.',
    '$TTL 3600',
    `@ 3600 IN SOA ns1.svc.plus. hostmaster.svc.plus. 7 3600 600 86400 30`,
    '@ IN NS ns1.svc.plus.',
    '@ IN NS ns2.svc.plus.',
  ];
  const absolute = (v: string) => v.replace(/([a-z0-9_-]+\.[a-z0-9._-]+)$/i, '$1.');
  for (const r of z.records!) {
    const ttl = r.ttl ?? 3600;
    const value = ['CNAME', 'NS', 'PTR', 'MX', 'SRV'].includes(r.type) ? absolute(r.value) : r.value;
    lines.push(`${r.name} ${ttl} IN ${r.type} ${value}`);
  }
  return lines.join('\n') + '\n';
}

export function testConfig(extra: Partial<DnsConfig> = {}): DnsConfig {
  return { listen: ['127.0.0.1:0'], zones: [testZone()], rrl: { enabled: false }, ...extra };
}

export interface Started {
  server: DnsServer;
  view: StaticRegionView;
  port: number;
  host: string;
}

export async function startServer(config: DnsConfig, options: Partial<DnsServerOptions> = {}): Promise<Started> {
  const view = (options.regionView as StaticRegionView | undefined) ?? new StaticRegionView();
  const server = new DnsServer({ config, regionView: view, rng: seededRng(1), ...options });
  await server.start();
  const a = server.addresses().udp[0]!;
  return { server, view, port: a.port, host: a.address };
}

/** Sends one datagram and waits for one reply (undefined on timeout). */
export function udpExchange(port: number, msg: Buffer, host = '127.0.0.1', timeoutMs = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      resolve(undefined);
    }, timeoutMs);
    sock.once('message', (m) => {
      clearTimeout(timer);
      sock.close();
      resolve(m);
    });
    sock.send(msg, port, host);
  });
}

export async function udpQuery(port: number, msg: Buffer, host = '127.0.0.1'): Promise<DecodedMessage> {
  const reply = await udpExchange(port, msg, host);
  if (!reply) throw new Error('no UDP reply');
  return decodeMessage(reply);
}

/** Writes `payload` to a TCP connection and collects `expect` length-prefixed replies. */
export function tcpExchange(port: number, payload: Buffer, expect: number, host = '127.0.0.1', timeoutMs = 2000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    const replies: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`got ${replies.length} of ${expect} TCP replies`));
    }, timeoutMs);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        replies.push(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
      }
      if (replies.length >= expect) {
        clearTimeout(timer);
        sock.destroy();
        resolve(replies);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.write(payload);
  });
}

export function frame(...msgs: Buffer[]): Buffer {
  return Buffer.concat(msgs.flatMap((m) => {
    const h = Buffer.alloc(2);
    h.writeUInt16BE(m.length);
    return [h, m];
  }));
}

export async function tcpQuery(port: number, msg: Buffer, host = '127.0.0.1'): Promise<DecodedMessage> {
  const [r] = await tcpExchange(port, frame(msg), 1, host);
  return decodeMessage(r!);
}

/** Polls `fn` until it returns true or the deadline passes. */
export async function eventually(fn: () => boolean | Promise<boolean>, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
