/**
 * DNS over TCP against a hostile client (issue 20, finding 8): a client that
 * trickles bytes must neither hold every TCP slot nor keep a connection alive
 * by sending a byte now and then. Runs a real gateway process (`edgeplane run`
 * with a dns section) and attacks it from 127.0.0.2 while a legitimate
 * client queries from 127.0.0.1.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.ts';
import { buildQuery } from '../../src/dns/wire/build-query.ts';
import { decodeMessage } from '../../src/dns/wire/decode.ts';
import { Rcode } from '../../src/dns/wire/constants.ts';

const gateways: GatewayProcess[] = [];
const cleanups: (() => void)[] = [];
after(async () => {
  for (const c of cleanups) c();
  for (const g of gateways) await g.stop();
});

function config(tcp: Record<string, unknown>) {
  return {
    node: { id: 'gw-dns-tcp', region: 'jp' },
    listeners: [],
    clusters: [],
    routes: [],
    admin: { address: '127.0.0.1:0', stateDir: './state' },
    dns: {
      listen: ['127.0.0.1:0'],
      tcp,
      zones: [{
        origin: 'svc.plus',
        soa: { mname: 'ns1.svc.plus', rname: 'hostmaster.svc.plus', refresh: 3600, retry: 600, expire: 86400, minimum: 30 },
        nameservers: ['ns1.svc.plus'],
        records: [{ name: 'ns1', type: 'A', value: '203.0.113.53' }],
        gtm: [{ name: 'api', regions: [{ region: 'jp', vips: ['203.0.113.10'], weight: 1 }] }],
      }],
    },
  };
}

async function start(tcp: Record<string, unknown>): Promise<number> {
  const gw = await startGateway(config(tcp));
  gateways.push(gw);
  return (gw.ready.dns as { tcp: { port: number }[] }).tcp[0]!.port;
}

async function waitUntil(fn: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One query over a fresh TCP connection from 127.0.0.1; rejects if the server closes or resets it. */
function legitQuery(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const q = buildQuery('api.svc.plus');
    const framed = Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
    const sock = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('no answer within 3s'));
    }, 3000);
    sock.on('connect', () => sock.write(framed));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        sock.destroy();
        resolve(decodeMessage(buf.subarray(2, 2 + buf.readUInt16BE(0))).rcode);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      reject(new Error('connection closed without an answer'));
    });
  });
}

/**
 * A trickling connection from `localAddress`: announces a 512-byte query and
 * sends one byte of it every `everyMs`, never finishing it.
 */
function trickler(port: number, localAddress: string, everyMs: number, onClose: () => void, onConnect: () => void = () => {}): net.Socket {
  const sock = net.connect({ port, host: '127.0.0.1', localAddress });
  let timer: NodeJS.Timeout | undefined;
  sock.on('connect', () => {
    onConnect();
    sock.write(Buffer.from([0x02, 0x00]));
    timer = setInterval(() => sock.write(Buffer.from([0x41])), everyMs);
  });
  sock.on('error', () => {});
  sock.on('close', () => {
    clearInterval(timer);
    onClose();
  });
  return sock;
}

test('one client trickling bytes cannot take every TCP slot: queries from others are answered', async () => {
  const port = await start({ maxConnections: 40 });
  // the attacker keeps 40 connections open, reconnecting whenever one is closed
  let stopped = false;
  let connected = 0;
  const socks = new Set<net.Socket>();
  const open = () => {
    if (stopped) return;
    const s = trickler(port, '127.0.0.2', 200, () => {
      socks.delete(s);
      if (!stopped) setTimeout(open, 50);
    }, () => connected++);
    socks.add(s);
  };
  for (let i = 0; i < 40; i++) open();
  const stop = () => {
    stopped = true;
    for (const s of socks) s.destroy();
  };
  cleanups.push(stop);
  await waitUntil(() => connected >= 40, 10_000, 'the attacker\'s 40 connections');
  for (let i = 0; i < 5; i++) {
    assert.equal(await legitQuery(port), Rcode.NOERROR, `legitimate query ${i} answered while the attacker trickles`);
  }
  stop();
});

test('a connection that trickles one query byte by byte is closed although it keeps sending', async () => {
  // idleTimeout 1s: today a byte every 100ms resets it forever
  const port = await start({ idleTimeout: '1s' });
  let closed = false;
  const s = trickler(port, '127.0.0.3', 100, () => (closed = true));
  cleanups.push(() => s.destroy());
  // the 512-byte query would take 51s at this pace; the server must not wait for it
  await waitUntil(() => closed, 8000, 'the server to close the trickling connection');
});

test('a connection that keeps sending whole queries is closed after maxConnectionDuration', async () => {
  const port = await start({ idleTimeout: '1s', maxConnectionDuration: '2s' });
  const q = buildQuery('api.svc.plus');
  const framed = Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
  let answers = 0;
  let closed = false;
  const sock = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.4' });
  const timer = setInterval(() => sock.write(framed), 300);
  cleanups.push(() => {
    clearInterval(timer);
    sock.destroy();
  });
  sock.on('data', (d) => (answers += d.length > 0 ? 1 : 0));
  sock.on('error', () => {});
  sock.on('close', () => {
    clearInterval(timer);
    closed = true;
  });
  await waitUntil(() => closed, 8000, 'the server to close the connection');
  assert.ok(answers >= 2, `queries were answered before the close (${answers})`);
});
