/**
 * Benchmark reference, not a DNS server: node:dgram replying to every datagram
 * with one precomputed answer (ID and question patched, nothing parsed or
 * looked up). It is the floor of what any responder on Node's dgram can cost,
 * so the gap between it and edgeplane is edgeplane's own work.
 * Prints `{"port":N}` once listening; exits on SIGTERM.
 */
import dgram from 'node:dgram';
import { buildQuery } from '../../src/dns/wire/build-query.ts';
import { BENCH_ADDRESS, BENCH_NAME } from './dns-zone.ts';

const question = buildQuery(BENCH_NAME).subarray(12);
const answerRr = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, ...BENCH_ADDRESS.split('.').map(Number)]);
const template = Buffer.concat([Buffer.from([0, 0, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0]), question, answerRr]);
const qlen = question.length;

const socket = dgram.createSocket({ type: 'udp4', lookup: (address, _family, cb) => cb(null, address, 4) });
socket.on('message', (msg, rinfo) => {
  if (msg.length < 12 + qlen) return;
  const out = Buffer.allocUnsafe(template.length);
  out.set(template, 0);
  out[0] = msg[0]!;
  out[1] = msg[1]!;
  for (let i = 0; i < qlen; i++) out[12 + i] = msg[12 + i]!;
  socket.send(out, rinfo.port, rinfo.address);
});
socket.bind(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: socket.address().port }) + '\n'));
process.on('SIGTERM', () => socket.close(() => process.exit(0)));
