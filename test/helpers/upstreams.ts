import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDemoUpstream } from '../../src/demo/upstream.ts';

export interface TestUpstream {
  server: http.Server;
  port: number;
  address: string;
  close(): Promise<void>;
}

/** A demo upstream on an OS-chosen loopback port. */
export async function startUpstream(color: string, service = 'api'): Promise<TestUpstream> {
  const server = createDemoUpstream({ service, color, port: 0 });
  return listenServer(server);
}

/** Any handler on an OS-chosen loopback port. */
export async function startServer(handler: http.RequestListener): Promise<TestUpstream> {
  return listenServer(http.createServer(handler));
}

async function listenServer(server: http.Server): Promise<TestUpstream> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
