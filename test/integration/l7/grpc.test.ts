import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startGateway, repoRoot, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startEchoServer, echoPackage, unary, type EchoServer, type Msg } from './fixtures/grpc.ts';

/**
 * gRPC through the gateway with real grpc-js servers and clients: the client
 * speaks h2 over TLS to the gateway; the gateway reaches one upstream over h2c
 * (cleartext) and one over h2 (TLS, verified with the dev CA).
 */
let gw: GatewayProcess;
let clear: EchoServer;
let secure: EchoServer;
const cert = join(repoRoot, 'certs-dev/server.crt');
const key = join(repoRoot, 'certs-dev/server.key');
const ca = readFileSync(join(repoRoot, 'certs-dev/ca.crt'));
const clients: grpc.Client[] = [];

before(async () => {
  clear = await startEchoServer('clear');
  secure = await startEchoServer('secure', { cert, key });
  gw = await startGateway({
    node: { id: 'gw-grpc', region: 'jp' },
    listeners: [{ name: 'https', address: '127.0.0.1:0', protocol: 'https', tls: { certificates: [{ cert, key }], http2: true } }],
    admin: { address: '127.0.0.1:0' },
    clusters: [
      { name: 'echo-h2c', endpoints: [clear.address], protocol: 'h2c' },
      { name: 'echo-h2', endpoints: [secure.address], protocol: 'h2', tls: { ca: join(repoRoot, 'certs-dev/ca.crt'), servername: 'localhost' } },
    ],
    routes: [
      { name: 'grpc-clear', match: { hosts: ['clear.svc.plus'] }, split: [{ cluster: 'echo-h2c', weight: 1 }] },
      { name: 'grpc-secure', match: { hosts: ['secure.svc.plus'] }, split: [{ cluster: 'echo-h2', weight: 1 }] },
    ],
  });
});

after(async () => {
  for (const c of clients) c.close();
  await gw?.stop();
  await Promise.all([clear?.close(), secure?.close()]);
});

/** A grpc-js client of the gateway's TLS listener, routed by authority. */
function client(authority: string): grpc.Client {
  const port = gw.ready.listeners.find((l) => l.name === 'https')!.port;
  const c = new echoPackage.edgeplane.test.Echo(`127.0.0.1:${port}`, grpc.credentials.createSsl(ca), { 'grpc.default_authority': authority, 'grpc.ssl_target_name_override': authority });
  clients.push(c);
  return c;
}

type Calls = Record<string, (...args: unknown[]) => grpc.ClientReadableStream<Msg> & grpc.ClientWritableStream<Msg> & grpc.ClientDuplexStream<Msg, Msg>>;

for (const [kind, authority, upstream] of [['h2c', 'clear.svc.plus', 'clear'], ['h2 (TLS)', 'secure.svc.plus', 'secure']] as const) {
  test(`unary over ${kind}: reply, trailing metadata, forwarded headers`, async () => {
    const c = client(authority);
    const md = new grpc.Metadata();
    md.set('x-tenant', 'acme');
    const { reply, trailers } = await unary(c, { text: 'hi', n: 41 }, md);
    assert.deepEqual(reply, { text: `${upstream}:hi`, n: 42 });
    assert.deepEqual(trailers.get('x-served-by'), [upstream]);
    const server = upstream === 'clear' ? clear : secure;
    const seen = server.seen.at(-1)!;
    assert.deepEqual(seen.get('x-tenant'), ['acme']);
    assert.deepEqual(seen.get('x-forwarded-for'), ['127.0.0.1']);
    assert.equal(seen.get('x-request-id').length, 1);
  });

  test(`concurrent unary calls over ${kind} are all open at the upstream at once (no serialised session or stream limit)`, async () => {
    // The server answers none of the 32 calls until all 32 are open there together, so a gateway
    // that queued calls behind one another on its upstream session would never complete them.
    const c = client(authority);
    const calls = Array.from({ length: 32 }, () => unary(c, { text: `barrier:32:${kind}`, n: 0 }));
    const replies = await Promise.all(calls);
    for (const { reply } of replies) assert.deepEqual(reply, { text: `${upstream}:released`, n: 32 });
  });

  test(`errors over ${kind}: grpc-status and grpc-message reach the client (trailers-only and after messages)`, async () => {
    const c = client(authority);
    await assert.rejects(unary(c, { text: 'fail:5:no such thing', n: 0 }), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND && err.details === 'no such thing');
    await assert.rejects(unary(c, { text: 'fail:14:try later', n: 0 }), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE && err.details === 'try later');
    const got: Msg[] = [];
    const stream = (c as unknown as Calls).ServerStream!({ text: 'fail-after', n: 2 });
    stream.on('data', (m: Msg) => got.push(m));
    const err = await new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    assert.equal(got.length, 2);
    assert.equal(err.code, grpc.status.DATA_LOSS);
    assert.equal(err.details, 'stream broke');
  });

  test(`server, client and bidi streaming over ${kind}`, async () => {
    const c = client(authority) as unknown as Calls;
    const server: Msg[] = [];
    const s = c.ServerStream!({ text: 'tick', n: 5 });
    s.on('data', (m: Msg) => server.push(m));
    await new Promise<void>((resolve, reject) => {
      s.on('end', resolve);
      s.on('error', reject);
    });
    assert.deepEqual(server.map((m) => m.text), [0, 1, 2, 3, 4].map((i) => `${upstream}:tick:${i}`));

    const sum = await new Promise<Msg>((resolve, reject) => {
      const w = c.ClientStream!((err: grpc.ServiceError | null, reply: Msg) => (err ? reject(err) : resolve(reply)));
      for (let i = 1; i <= 10; i++) w.write({ text: `m${i}`, n: i });
      w.end();
    });
    assert.equal(sum.n, 55);
    assert.equal(sum.text, `${upstream}:${Array.from({ length: 10 }, (_, i) => `m${i + 1}`).join(',')}`);

    // Bidi: each reply is awaited before the next message is sent, so both directions stream through the gateway at once.
    const d = c.Bidi!();
    const replies: Msg[] = [];
    let next: ((m: Msg) => void) | null = null;
    d.on('data', (m: Msg) => {
      replies.push(m);
      next?.(m);
    });
    for (let i = 1; i <= 5; i++) {
      const reply = new Promise<Msg>((resolve) => (next = resolve));
      d.write({ text: `b${i}`, n: i });
      assert.deepEqual(await reply, { text: `${upstream}:b${i}`, n: i * 2 });
    }
    d.end();
    await new Promise<void>((resolve, reject) => {
      d.on('end', resolve);
      d.on('error', reject);
    });
    assert.equal(replies.length, 5);
  });
}
