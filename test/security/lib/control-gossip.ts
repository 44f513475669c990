import { connect, createServer, type Server, type Socket } from 'node:net';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { NetTransport } from '../../../src/gossip/net-transport.ts';
import type { ExchangeCallback, PacketHandler, StreamHandler, Transport } from '../../../src/gossip/transport.ts';

export const GOSSIP_NODE = 'gw-gossip';

/** A gateway that gossips on 127.0.0.1 (OS-chosen port, `local` profile: 2 s push-pull deadline) with `key`. */
export async function startGossipGateway(key: string, gossip: Record<string, unknown> = {}): Promise<{ gw: GatewayProcess; host: string; port: number }> {
  const gw = await startGateway({
    node: { id: GOSSIP_NODE, region: 'jp' },
    // A gateway must serve something (edgeplane refuses a config without listeners or dns).
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    clusters: [],
    routes: [],
    admin: { address: '127.0.0.1:0' },
    gossip: { bind: '127.0.0.1:0', keys: [key], profile: 'local', ...gossip },
  });
  const [host, port] = (gw.ready.gossip as string).split(':');
  return { gw, host: host!, port: Number(port) };
}

/** GET /v1/fleet of a gateway without an admin token. */
export async function fleetMembers(gw: GatewayProcess): Promise<{ name: string; state: string }[]> {
  const res = await fetch(`${gw.adminUrl()}/v1/fleet`);
  return ((await res.json()) as { members: { name: string; state: string }[] }).members;
}

/**
 * NetTransport that keeps a copy of every datagram it sends, as an attacker on
 * the path would: the bytes on the wire, sealed as they are.
 */
export class RecordingTransport implements Transport {
  readonly inner: NetTransport;
  readonly sent: { to: string; data: Buffer }[] = [];
  constructor(bind: string) {
    this.inner = new NetTransport({ bind });
  }
  get address(): string {
    return this.inner.address;
  }
  start(onPacket: PacketHandler, onStream: StreamHandler, ...gate: unknown[]): Promise<void> {
    // The agent's stream gate, when this code has one, is passed through untouched.
    return (this.inner.start as (...a: unknown[]) => Promise<void>)(onPacket, onStream, ...gate);
  }
  sendPacket(to: string, data: Uint8Array): void {
    this.sent.push({ to, data: Buffer.from(data) });
    this.inner.sendPacket(to, data);
  }
  exchange(to: string, request: Uint8Array, timeoutMs: number, cb: ExchangeCallback): void {
    this.inner.exchange(to, request, timeoutMs, cb);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A TCP relay to `target` that records what each client sent (a capture of push-pull streams on the path). */
export async function tcpRelay(target: { host: string; port: number }): Promise<{ address: string; captured: Buffer[][]; close(): Promise<void> }> {
  const captured: Buffer[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const chunks: Buffer[] = [];
    captured.push(chunks);
    const upstream = connect(target);
    sockets.add(client).add(upstream);
    client.on('data', (d) => {
      chunks.push(Buffer.from(d));
      upstream.write(d);
    });
    upstream.on('data', (d) => client.write(d));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    for (const s of [client, upstream]) {
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as { port: number }).port}`,
    captured,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A client connection that records whether and when the server closed it, and what it answered. */
export interface WatchedSocket {
  sock: Socket;
  closed: boolean;
  received: number;
}

export function openWatched(host: string, port: number, localAddress?: string): Promise<WatchedSocket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
    const w: WatchedSocket = { sock, closed: false, received: 0 };
    sock.on('data', (d) => (w.received += d.length));
    sock.on('error', () => {});
    sock.on('close', () => (w.closed = true));
    sock.once('connect', () => resolve(w));
    sock.once('error', reject);
  });
}

/** Writes `chunk` `times` times, `gapMs` apart (awaiting drain), stopping early when the server closes. Returns bytes written. */
export async function sendUntilClosed(w: WatchedSocket, chunk: Buffer, times: number, gapMs: number): Promise<number> {
  let written = 0;
  for (let i = 0; i < times && !w.closed && !w.sock.destroyed; i++) {
    const ok = w.sock.write(chunk);
    written += chunk.length;
    if (!ok) await new Promise<void>((r) => { w.sock.once('drain', r); w.sock.once('close', r); });
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return written;
}
