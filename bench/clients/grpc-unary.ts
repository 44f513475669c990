// Closed-loop gRPC unary load with grpc-js: CONCURRENCY calls in flight over
// CHANNELS channels for SECONDS, TLS with the dev CA. Prints one JSON line.
// Usage: grpc-unary.ts HOST:PORT AUTHORITY --concurrency 64 --channels 4 --seconds 5 --warmup 1
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { repoRoot } from '../lib/edgeplane.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { concurrency: { type: 'string', default: '64' }, channels: { type: 'string', default: '4' }, seconds: { type: 'string', default: '5' }, warmup: { type: 'string', default: '1' } },
});
const [target, authority] = positionals as [string, string];
const def = grpc.loadPackageDefinition(protoLoader.loadSync(join(repoRoot, 'test/integration/l7/fixtures/echo.proto'), { keepCase: true, defaults: true })) as unknown as {
  edgeplane: { test: { Echo: grpc.ServiceClientConstructor } };
};
const creds = grpc.credentials.createSsl(readFileSync(join(repoRoot, 'certs-dev/ca.crt')));
const clients = Array.from({ length: Number(values.channels) }, (_, i) =>
  new def.edgeplane.test.Echo(target, creds, { 'grpc.default_authority': authority, 'grpc.ssl_target_name_override': authority, 'grpc.use_local_subchannel_pool': 1, 'grpc.channel_id': i } as grpc.ChannelOptions),
);
type UnaryFn = (req: { text: string; n: number }, cb: (err: grpc.ServiceError | null) => void) => void;

let counting = false;
let stopped = false;
let completed = 0;
let errors = 0;
const latencies: number[] = [];

function loop(i: number): void {
  if (stopped) return;
  const c = clients[i % clients.length]! as unknown as { Unary: UnaryFn };
  const t0 = performance.now();
  c.Unary({ text: 'hello', n: i }, (err) => {
    if (counting) {
      if (err) errors++;
      else {
        completed++;
        if (latencies.length < 200_000) latencies.push(performance.now() - t0);
      }
    }
    loop(i);
  });
}

for (let i = 0; i < Number(values.concurrency); i++) loop(i);
await new Promise((r) => setTimeout(r, Number(values.warmup) * 1000));
counting = true;
const start = performance.now();
await new Promise((r) => setTimeout(r, Number(values.seconds) * 1000));
counting = false;
const elapsed = (performance.now() - start) / 1000;
stopped = true;
latencies.sort((a, b) => a - b);
const q = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! : 0);
console.log(JSON.stringify({ completed, errors, rps: completed / elapsed, p50Ms: q(0.5), p99Ms: q(0.99), p999Ms: q(0.999) }));
for (const c of clients) c.close();
process.exit(0);
