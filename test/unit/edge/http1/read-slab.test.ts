import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { slabReads } from '../../../../src/edge/http1/read-slab.ts';

test('slabReads: interleaved reads of several sockets arrive intact, and a chunk kept from an early read is never overwritten', async (t) => {
  const server = net.createServer((s) => {
    let i = 0;
    // Many small writes spread over time, so each socket reads many times while the others read too.
    const timer = setInterval(() => {
      s.write(`${s.remotePort}:${i++};`);
      if (i === 400) {
        clearInterval(timer);
        s.end();
      }
    }, 0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const { port } = server.address() as net.AddressInfo;
  const runs = Array.from({ length: 4 }, () => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: '127.0.0.1', port, onread: slabReads((c) => chunks.push(c)) });
    return new Promise<{ local: number; chunks: Buffer[] }>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('end', () => resolve({ local: socket.localPort!, chunks }));
    });
  });
  for (const { local, chunks } of await Promise.all(runs)) {
    assert.ok(chunks.length > 1, 'several reads per socket');
    // The chunks were kept, not copied: had a later read reused their bytes, the sequence would break.
    const text = Buffer.concat(chunks).toString('latin1');
    assert.equal(text, Array.from({ length: 400 }, (_, i) => `${local}:${i};`).join(''));
  }
});
