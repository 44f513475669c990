// A grpc-js Echo server (test/integration/l7/fixtures/echo.proto) on two ports:
// cleartext (h2c, what the gateway's cluster uses) and TLS (what a client calling
// it directly uses, like the gateway's listener). Usage: grpc-echo.ts H2C_PORT TLS_PORT
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { repoRoot } from '../lib/edgeplane.ts';

const [h2cPort, tlsPort] = process.argv.slice(2).map(Number);
const def = grpc.loadPackageDefinition(protoLoader.loadSync(join(repoRoot, 'test/integration/l7/fixtures/echo.proto'), { keepCase: true, defaults: true })) as unknown as {
  edgeplane: { test: { Echo: grpc.ServiceClientConstructor } };
};
interface Msg { text: string; n: number }
const server = new grpc.Server();
const unimplemented = (_call: unknown, cb?: grpc.sendUnaryData<Msg>) => cb?.({ code: grpc.status.UNIMPLEMENTED });
server.addService(def.edgeplane.test.Echo.service, {
  Unary(call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
    cb(null, { text: call.request.text, n: call.request.n + 1 });
  },
  ServerStream: unimplemented,
  ClientStream: unimplemented,
  Bidi: unimplemented,
});
const tls = grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(join(repoRoot, 'certs-dev/server.crt')), private_key: readFileSync(join(repoRoot, 'certs-dev/server.key')) }]);
const bind = (port: number, creds: grpc.ServerCredentials) => new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, creds, (err) => (err ? reject(err) : resolve())));
await bind(h2cPort!, grpc.ServerCredentials.createInsecure());
await bind(tlsPort!, tls);
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
