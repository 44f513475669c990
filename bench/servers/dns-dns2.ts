/**
 * Benchmark anchor: a stock dns2 server with the README's handler, answering
 * the bench name with the same A record edgeplane and knotd give. Prints
 * `{"port":N}` once listening; exits on SIGTERM.
 * Usage: node --import tsx bench/servers/dns-dns2.ts
 */
import { createServer, Packet } from 'dns2';
import { BENCH_ADDRESS } from './dns-zone.ts';

const server = createServer({
  udp: true,
  handle: (request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const [question] = request.questions;
    // the README pushes a plain object; dns2's typings want a toBuffer() it never calls on answers
    const answer = { name: question!.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 30, address: BENCH_ADDRESS };
    response.answers.push(answer as unknown as (typeof response.answers)[number]);
    send(response);
  },
});
const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
process.stdout.write(JSON.stringify({ port: addresses.udp!.port }) + '\n');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
