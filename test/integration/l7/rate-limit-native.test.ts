import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startServer, type TestUpstream } from '../../helpers/upstreams.ts';
import { waitFor, within } from '../../helpers/wait.ts';

/**
 * The native engine's refusal from a request head (src/edge/rate-limit/head-refusal.ts):
 * a raw client sees the exact bytes, so framing, keep-alive after a 429 and the
 * order of pipelined answers are checked on the wire; the access log and the
 * metrics must be those of the exchange's error path. One worker, so one set of
 * buckets; periods are an hour long, so no token comes back during the test.
 */
let gw: GatewayProcess;
let upstream: TestUpstream;
const hits: string[] = [];

before(async () => {
  upstream = await startServer((req, res) => {
    hits.push(`${req.headers.host} ${req.url}`);
    req.resume();
    const body = `up ${req.url}`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) }).end(body);
  });
  const split = [{ cluster: 'up', weight: 1 }];
  gw = await startGateway({
    node: { id: 'gw-ratelimit-native', region: 'jp' },
    engine: 'native',
    workers: 1,
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    admin: { address: '127.0.0.1:0' },
    clusters: [{ name: 'up', endpoints: [upstream.address] }],
    routes: [
      { name: 'once', match: { hosts: ['once.test'] }, split, rateLimit: [{ key: { clientAddress: true }, requests: 1, per: '1h' }] },
      { name: 'pipelined', match: { hosts: ['pipe.test'] }, split, rateLimit: [{ key: { clientAddress: true }, requests: 1, per: '1h' }] },
      { name: 'keyed', match: { hosts: ['keyed.test'], headers: [{ name: 'x-tenant', exact: 'a' }] }, split, rateLimit: [{ name: 'per-key', key: { header: 'x-api-key' }, requests: 1, per: '1h', responseHeaders: true }] },
      { name: 'logged', match: { hosts: ['logged.test'] }, split, rateLimit: [{ key: { clientAddress: true }, requests: 1, per: '1h' }] },
      { name: 'open', match: { hosts: ['open.test'] }, split },
    ],
    logging: { accessLog: { path: 'access.log' } },
  });
});

after(async () => {
  await gw?.stop();
  await upstream?.close();
});

interface WireResponse {
  status: number;
  headers: Record<string, string>;
  /** Field names in the order received. */
  names: string[];
  body: string;
}

/** A raw keep-alive connection that reads responses off the byte stream by their framing (Content-Length; none after HEAD). */
class RawClient {
  readonly socket: net.Socket;
  #buf = Buffer.alloc(0);
  #ended = false;
  #wake: (() => void) | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#wake?.();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#wake?.();
    });
    socket.on('error', () => {});
  }

  static async open(): Promise<RawClient> {
    const url = new URL(gw.url('http'));
    const socket = net.connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawClient(socket);
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** The next response; `head` when it answers a HEAD request (no body follows whatever the length says). */
  async read(head = false): Promise<WireResponse> {
    return within(this.#read(head), 'a response on the raw connection', 10_000);
  }

  /** Resolves when the server has closed the connection. */
  async closed(): Promise<boolean> {
    await within(this.#until(() => this.#ended), 'the server closing the connection', 10_000);
    return true;
  }

  close(): void {
    this.socket.destroy();
  }

  async #read(head: boolean): Promise<WireResponse> {
    await this.#until(() => this.#buf.indexOf('\r\n\r\n') >= 0);
    const end = this.#buf.indexOf('\r\n\r\n');
    const lines = this.#buf.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(lines[0]!)?.[1]);
    assert.ok(status > 0, `status line: ${lines[0]}`);
    const headers: Record<string, string> = {};
    const names: string[] = [];
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      const name = l.slice(0, i).toLowerCase();
      assert.equal(headers[name], undefined, `field ${name} sent twice`);
      headers[name] = l.slice(i + 1).trim();
      names.push(name);
    }
    const length = head ? 0 : Number(headers['content-length']);
    assert.ok(Number.isInteger(length), `every response here has a Content-Length: ${lines.join(' | ')}`);
    await this.#until(() => this.#buf.length >= end + 4 + length);
    const body = this.#buf.subarray(end + 4, end + 4 + length).toString('utf8');
    this.#buf = this.#buf.subarray(end + 4 + length);
    return { status, headers, names, body };
  }

  async #until(ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (this.#ended) throw new Error(`connection closed by the server; unread: ${JSON.stringify(this.#buf.toString('latin1'))}`);
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = null;
    }
  }
}

function get(host: string, path = '/x', extra = '', method = 'GET'): string {
  return `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: raw-test/1\r\n${extra}\r\n`;
}

async function metrics(): Promise<string> {
  return (await fetch(`${gw.adminUrl()}/metrics`)).text();
}

function accessLines(): Record<string, unknown>[] {
  const file = join(gw.dir, 'access.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('a refused request gets the whole 429: status, RateLimit-* and Retry-After, Content-Length of the JSON body, the request id echoed or made', async () => {
  const c = await RawClient.open();
  try {
    c.send(get('once.test'));
    assert.equal((await c.read()).status, 200);
    c.send(get('once.test', '/x', 'X-Request-Id: client-id-0001\r\n'));
    const r = await c.read();
    assert.equal(r.status, 429);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.headers['x-request-id'], 'client-id-0001');
    const retryAfter = Number(r.headers['retry-after']);
    assert.ok(retryAfter > 3500 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
    assert.equal(r.headers['ratelimit-limit'], '1');
    assert.equal(r.headers['ratelimit-remaining'], '0');
    assert.ok(Number(r.headers['ratelimit-reset']) > 3500);
    assert.equal(r.headers['ratelimit-policy'], '1;w=3600');
    assert.equal(r.headers.connection, undefined, 'keep-alive is HTTP/1.1\'s default: no Connection field');
    assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
    assert.deepEqual(JSON.parse(r.body), { error: 'rate_limited', message: 'too many requests (limit "client-address")', route: 'once', requestId: 'client-id-0001' });

    // An id the gateway would not forward is replaced, in the field and the body alike.
    c.send(get('once.test', '/x', 'X-Request-Id: bad id with spaces\r\n'));
    const made = await c.read();
    assert.equal(made.status, 429);
    assert.match(made.headers['x-request-id']!, /^[0-9a-f-]{36}$/);
    assert.equal((JSON.parse(made.body) as { requestId: string }).requestId, made.headers['x-request-id']);

    // HEAD: the same head (the length of the body a GET would get), no body; the next response starts right after it.
    c.send(get('once.test', '/x', '', 'HEAD'));
    const h = await c.read(true);
    assert.equal(h.status, 429);
    assert.ok(Number(h.headers['content-length']) > 0);
    c.send(get('open.test', '/after-head'));
    const next = await c.read();
    assert.equal(next.status, 200);
    assert.equal(next.body, 'up /after-head');
  } finally {
    c.close();
  }
  assert.equal(hits.filter((h) => h.startsWith('once.test')).length, 1, 'refused requests never reach the upstream');
});

test('the connection stays open after a 429: the next requests on it are proxied; Connection: close and HTTP/1.0 are framed as asked', async () => {
  const c = await RawClient.open();
  try {
    for (let i = 0; i < 3; i++) {
      c.send(get('once.test'));
      assert.equal((await c.read()).status, 429);
      c.send(get('open.test', `/keep-${i}`));
      const r = await c.read();
      assert.equal(r.status, 200);
      assert.equal(r.body, `up /keep-${i}`);
    }
    c.send('GET /x HTTP/1.0\r\nHost: once.test\r\nConnection: keep-alive\r\n\r\n');
    const old = await c.read();
    assert.equal(old.status, 429);
    assert.equal(old.headers.connection, 'keep-alive', 'an HTTP/1.0 client is told the connection stays');
    c.send(get('open.test', '/after-http10'));
    assert.equal((await c.read()).body, 'up /after-http10');

    c.send(get('once.test', '/x', 'Connection: close\r\n'));
    const last = await c.read();
    assert.equal(last.status, 429);
    assert.equal(last.headers.connection, 'close');
    assert.ok(await c.closed());
  } finally {
    c.close();
  }
});

test('pipelined requests where some are refused: every answer in request order, refused ones never reach the upstream', async () => {
  const before = hits.length;
  const c = await RawClient.open();
  try {
    // pipe.test passes its first request only; the 429s come from the head, the 200s from the exchange.
    const plan: { host: string; method?: string; want: number }[] = [
      { host: 'open.test', want: 200 },
      { host: 'pipe.test', want: 200 },
      { host: 'pipe.test', want: 429 },
      { host: 'open.test', want: 200 },
      { host: 'pipe.test', want: 429 },
      { host: 'pipe.test', method: 'HEAD', want: 429 },
      { host: 'open.test', want: 200 },
      { host: 'pipe.test', want: 429 },
    ];
    c.send(plan.map((p, i) => get(p.host, `/p${i}`, `X-Request-Id: pipelined-req-${i}\r\n`, p.method)).join(''));
    for (const [i, p] of plan.entries()) {
      const r = await c.read(p.method === 'HEAD');
      assert.equal(r.status, p.want, `response ${i}`);
      assert.equal(r.headers['x-request-id'], `pipelined-req-${i}`, `response ${i} answers request ${i}`);
      if (p.want === 200) assert.equal(r.body, `up /p${i}`);
    }
    // The connection is still usable after the burst.
    c.send(get('open.test', '/tail'));
    assert.equal((await c.read()).body, 'up /tail');
  } finally {
    c.close();
  }
  assert.deepEqual(hits.slice(before), ['open.test /p0', 'pipe.test /p1', 'open.test /p3', 'open.test /p6', 'open.test /tail']);
});

test('a header key and a header match read from the head; passing responses keep their RateLimit-* headers', async () => {
  const c = await RawClient.open();
  try {
    c.send(get('keyed.test', '/k', 'X-Tenant: a\r\nX-Api-Key: k1\r\n'));
    const ok = await c.read();
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['ratelimit-remaining'], '0');
    c.send(get('keyed.test', '/k', 'X-Tenant: a\r\nX-Api-Key: k1\r\n'));
    const refused = await c.read();
    assert.equal(refused.status, 429);
    assert.equal((JSON.parse(refused.body) as { message: string }).message, 'too many requests (limit "per-key")');
    c.send(get('keyed.test', '/k', 'X-Tenant: a\r\nX-Api-Key: k2\r\n'));
    assert.equal((await c.read()).status, 200, 'another key has its own bucket');
    c.send(get('keyed.test', '/k', 'X-Tenant: b\r\nX-Api-Key: k1\r\n'));
    assert.equal((await c.read()).status, 404, 'the header match is the route\'s: no route for another tenant');
  } finally {
    c.close();
  }
});

test('the refusal is access-logged and counted as the exchange\'s error path does', async () => {
  const c = await RawClient.open();
  try {
    c.send(get('logged.test', '/first?a=1'));
    assert.equal((await c.read()).status, 200);
    c.send(get('logged.test', '/second?token=abc', 'X-Request-Id: logged-req-0001\r\nReferer: http://ref.test/page\r\n'));
    const r = await c.read();
    assert.equal(r.status, 429);
    const line = await waitFor(() => accessLines().find((l) => l.requestId === 'logged-req-0001'), { what: 'the 429\'s access-log line' });
    assert.equal(line.status, 429);
    assert.equal(line.route, 'logged');
    assert.equal(line.error, 'rate_limited');
    assert.equal(line.method, 'GET');
    assert.equal(line.authority, 'logged.test');
    assert.equal(line.protocol, 'HTTP/1.1');
    assert.equal(line.userAgent, 'raw-test/1');
    assert.equal(line.referer, 'http://ref.test/page');
    assert.equal(line.clientAddress, '127.0.0.1');
    assert.equal(line.bytesOut, Buffer.byteLength(r.body));
    assert.equal(line.attempts, 0);
    assert.ok(String(line.path).startsWith('/second?'), `path ${String(line.path)}`);
    assert.ok(!JSON.stringify(line).includes('abc'), 'the query value is redacted like any other line');
    // A refused request with a body goes through the exchange's error path: its line has the same fields and values.
    c.send('POST /second?token=abc HTTP/1.1\r\nHost: logged.test\r\nUser-Agent: raw-test/1\r\nReferer: http://ref.test/page\r\nX-Request-Id: logged-req-0002\r\nContent-Length: 2\r\n\r\nhi');
    const viaExchange = await c.read();
    assert.equal(viaExchange.status, 429);
    const other = await waitFor(() => accessLines().find((l) => l.requestId === 'logged-req-0002'), { what: 'the exchange\'s 429 line' });
    assert.deepEqual(Object.keys(line).sort(), Object.keys(other).sort());
    const comparable = (l: Record<string, unknown>) => ({ ...l, time: undefined, totalMs: undefined, requestId: undefined, method: undefined, bytesIn: undefined, bytesOut: undefined });
    assert.deepEqual(comparable(line), comparable(other));
    assert.equal(other.bytesOut, Buffer.byteLength(viaExchange.body));
  } finally {
    c.close();
  }
  const m = await metrics();
  assert.match(m, /edgeplane_rate_limited_total\{route="logged",limit="client-address"\} 2\b/);
  assert.match(m, /edgeplane_requests_total\{route="logged",cluster="",code="429"\} 2\b/);
  assert.match(m, /edgeplane_requests_total\{route="logged",cluster="up",code="200"\} 1\b/);
});

test('a refused request with a body is answered by the exchange (its body can\'t be skipped from the head) and still refused', async () => {
  const c = await RawClient.open();
  try {
    c.send('POST /body HTTP/1.1\r\nHost: once.test\r\nContent-Length: 5\r\n\r\nhello');
    const r = await c.read();
    assert.equal(r.status, 429);
    assert.equal((JSON.parse(r.body) as { route: string }).route, 'once');
  } finally {
    c.close();
  }
  assert.ok(!hits.includes('once.test /body'));
});
