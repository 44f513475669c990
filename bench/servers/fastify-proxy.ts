// The "stock @fastify/http-proxy" anchor: the package with its documented defaults.
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';

const [port, upstreamPort] = process.argv.slice(2).map(Number);
const app = Fastify({ logger: false });
await app.register(proxy, { upstream: `http://127.0.0.1:${upstreamPort}` });
await app.listen({ host: '127.0.0.1', port });
