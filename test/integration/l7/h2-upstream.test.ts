import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { H2Upstream } from '../../../src/edge/h2-upstream.ts';
import { within } from '../../helpers/wait.ts';

/**
 * H2Upstream's timeouts on a real h2c server: one timer per call covers the
 * response headers, then the body's idle time, and is restarted by every
 * piece of body (a slow but steady body is never cut).
 */
let server: http2.Http2Server;
let origin: string;
const timers: NodeJS.Timeout[] = [];

before(async () => {
  server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const path = headers[':path'];
    if (path === '/silent') return; // never answers
    if (path === '/stall') {
      stream.respond({ ':status': 200 });
      stream.write('first');
      return; // then nothing
    }
    if (path === '/trickle') {
      // 12 pieces 150 ms apart: 1.8 s in all, longer than the 1 s idle timeout, never idle for 1 s.
      stream.respond({ ':status': 200 });
      let n = 0;
      const t = setInterval(() => {
        if (stream.destroyed) return clearInterval(t);
        if (++n === 12) {
          clearInterval(t);
          stream.end(`${n}`, () => {});
        } else stream.write(`${n},`);
      }, 150);
      timers.push(t);
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-trailer': 'yes' }));
    stream.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const t of timers) clearInterval(t);
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface Outcome {
  status?: number;
  body: string;
  trailers?: string[];
  error?: Error & { code?: string };
}

function call(up: H2Upstream, path: string, timeouts: { headersTimeout?: number; bodyTimeout?: number }): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { body: '' };
    const handler = {
      onConnect() {},
      onHeaders(status: number) {
        out.status = status;
        return true;
      },
      onData(chunk: Buffer) {
        out.body += chunk.toString();
        return true;
      },
      onComplete(trailers: string[]) {
        out.trailers = trailers;
        resolve(out);
      },
      onError(err: Error) {
        out.error = err;
        resolve(out);
      },
    };
    up.dispatch({ path, method: 'GET', headers: ['host', 'up.test'], body: null, ...timeouts } as Dispatcher.DispatchOptions, handler as unknown as Dispatcher.DispatchHandler);
  });
}

test('a whole answer: headers, body and trailers, with both timeouts armed', async () => {
  const up = new H2Upstream({ origin, connectTimeoutMs: 5000 });
  try {
    const r = await within(call(up, '/ok', { headersTimeout: 5000, bodyTimeout: 5000 }), 'the answer');
    assert.equal(r.error, undefined);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
    assert.deepEqual(r.trailers, ['x-trailer', 'yes']);
  } finally {
    await up.destroy();
  }
});

test('no response headers within headersTimeout: UND_ERR_HEADERS_TIMEOUT', async () => {
  const up = new H2Upstream({ origin, connectTimeoutMs: 5000 });
  try {
    const r = await within(call(up, '/silent', { headersTimeout: 200, bodyTimeout: 200 }), 'the headers timeout');
    assert.equal(r.status, undefined);
    assert.equal(r.error?.code, 'UND_ERR_HEADERS_TIMEOUT');
  } finally {
    await up.destroy();
  }
});

test('a body that stops after the headers: UND_ERR_BODY_TIMEOUT (the headers timer became the idle timer)', async () => {
  const up = new H2Upstream({ origin, connectTimeoutMs: 5000 });
  try {
    const r = await within(call(up, '/stall', { headersTimeout: 300, bodyTimeout: 300 }), 'the body timeout');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'first');
    assert.equal(r.error?.code, 'UND_ERR_BODY_TIMEOUT');
  } finally {
    await up.destroy();
  }
});

test('a slow but steady body longer than bodyTimeout in all is not cut: each piece restarts the idle timer', async () => {
  const up = new H2Upstream({ origin, connectTimeoutMs: 5000 });
  try {
    const r = await within(call(up, '/trickle', { headersTimeout: 1000, bodyTimeout: 1000 }), 'the trickled body');
    assert.equal(r.error, undefined, `cut: ${r.error?.message}`);
    assert.equal(r.body, '1,2,3,4,5,6,7,8,9,10,11,12');
  } finally {
    await up.destroy();
  }
});
