import http from 'node:http';
import { Readable } from 'node:stream';

export interface Transfer {
  status: number;
  /** Bytes that arrived at the far end (upload: as the upstream counted them; download: as received). */
  bytes: number;
  seconds: number;
}

const BLOCK = Buffer.alloc(64 * 1024, 'edgeplane-bulk-');

/** Streams `bytes` as one PUT with a content-length (generated on the fly, never held in memory). */
export function upload(url: string, host: string, bytes: number): Promise<Transfer> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let left = bytes;
    const body = new Readable({
      read() {
        while (left > 0) {
          const chunk = left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
          left -= chunk.length;
          if (!this.push(chunk)) return;
        }
        this.push(null);
      },
    });
    const req = http.request(url, { method: 'PUT', agent: false, headers: { host, 'content-length': bytes, 'content-type': 'application/octet-stream' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let counted = 0;
        try {
          counted = (JSON.parse(text) as { bytes: number }).bytes;
        } catch {
          // not the bulk upstream's answer: counted stays 0 and the caller reports an error
        }
        resolve({ status: res.statusCode ?? 0, bytes: counted, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    body.pipe(req);
  });
}

/** GETs `bytes` and counts them as they arrive. */
export function download(url: string, host: string, bytes: number): Promise<Transfer> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.get(`${url}?bytes=${bytes}`, { agent: false, headers: { host } }, (res) => {
      let received = 0;
      res.on('data', (c: Buffer) => (received += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes: received, seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}
