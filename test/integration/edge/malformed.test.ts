import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startServer, type TestUpstream } from '../../helpers/upstreams.ts';
import { rawHttp, parseRawResponse } from '../../helpers/raw-http.ts';

let upstream: TestUpstream;
let forwarded = 0;
let gw: GatewayProcess;
let port: number;

before(async () => {
  upstream = await startServer((req, res) => {
    forwarded++;
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  gw = await startGateway({
    node: { id: 'gw-malformed', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http', maxHeaderSize: 4096 }],
    admin: { address: '127.0.0.1:0' },
    clusters: [{ name: 'up', endpoints: [upstream.address] }],
    routes: [{ name: 'all', match: { path: { prefix: '/' } }, split: [{ cluster: 'up', weight: 1 }] }],
  });
  port = Number(new URL(gw.url('http')).port);
});

after(async () => {
  await gw?.stop();
  await upstream?.close();
});

const cases: [string, string, number][] = [
  ['Content-Length with Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
  ['duplicate Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!', 400],
  ['bad chunk size', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', 400],
  ['non-numeric Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: five\r\n\r\nhello', 400],
  ['header section over the limit', `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(8000)}\r\n\r\n`, 431],
  ['garbage request line', 'HELLO THERE\r\n\r\n', 400],
  ['space before colon (request smuggling vector)', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', 400],
];

for (const [name, payload, status] of cases) {
  test(`malformed request: ${name} -> ${status}, never forwarded`, async () => {
    const before = forwarded;
    const res = parseRawResponse(await rawHttp(port, payload));
    assert.equal(res.status, status);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.ok(JSON.parse(res.body).error);
    assert.equal(forwarded, before, 'the upstream saw no request');
  });
}

test('the gateway keeps serving valid requests after malformed ones', async () => {
  const res = await request(gw.url('http') + '/fine');
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'ok');
  const metrics = await (await request(gw.adminUrl() + '/metrics')).body.text();
  assert.match(metrics, /edgeplane_client_errors_total\{reason="header_too_large"\} 1/);
});
