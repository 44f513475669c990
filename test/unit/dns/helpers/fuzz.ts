import type { Rng } from '../../../../src/util/rng.ts';
import { buildQuery } from '../../../../src/dns/wire/build-query.ts';
import { RRType } from '../../../../src/dns/wire/constants.ts';

/** Valid queries the mutator starts from: names, types, EDNS, ECS, odd case. */
export function seedQueries(): Buffer[] {
  const names = ['static.svc.plus', 'API.svc.plus', 'nope.svc.plus', 'a.b.c.svc.plus', 'x.sub.svc.plus', 'svc.plus', 'example.com', '.'];
  const types = [RRType.A, RRType.AAAA, RRType.ANY, RRType.TXT, RRType.NS, RRType.SOA, RRType.DS, RRType.AXFR];
  const out: Buffer[] = [];
  for (const n of names) {
    for (const t of types) {
      out.push(buildQuery(n, { type: t }));
      out.push(buildQuery(n, { type: t, edns: { udpSize: 4096, dnssecOk: true } }));
      out.push(buildQuery(n, { type: t, edns: { clientSubnet: '203.0.113.0/24', options: [{ code: 10, data: Buffer.alloc(8, 1) }] } }));
    }
  }
  return out;
}

function int(rng: Rng, n: number): number {
  return Math.floor(rng.next() * n);
}

/** One mutated or random packet. */
export function fuzzPacket(rng: Rng, seeds: Buffer[]): Buffer {
  const kind = int(rng, 10);
  if (kind === 0) {
    const b = Buffer.alloc(int(rng, 80));
    for (let i = 0; i < b.length; i++) b[i] = int(rng, 256);
    return b;
  }
  if (kind === 1) {
    // a plausible header over random bytes
    const b = Buffer.alloc(12 + int(rng, 300));
    for (let i = 0; i < b.length; i++) b[i] = int(rng, 256);
    b[2] = b[2]! & 0x7f;
    b.writeUInt16BE(int(rng, 3), 4);
    return b;
  }
  const b = Buffer.from(seeds[int(rng, seeds.length)]!);
  const edits = 1 + int(rng, 4);
  let out = b;
  for (let e = 0; e < edits; e++) {
    const op = int(rng, 8);
    const at = out.length ? int(rng, out.length) : 0;
    switch (op) {
      case 0: // flip a byte
        if (out.length) out[at] = int(rng, 256);
        break;
      case 1: // truncate
        out = out.subarray(0, at);
        break;
      case 2: // lie in a count
        if (out.length >= 12) out.writeUInt16BE([0, 1, 2, 3, 0xffff][int(rng, 5)]!, 4 + 2 * int(rng, 4));
        break;
      case 3: // a compression pointer somewhere, possibly to itself
        if (out.length >= 2) {
          const p = Math.min(at, out.length - 2);
          out.writeUInt16BE(0xc000 | int(rng, out.length + 4), p);
        }
        break;
      case 4: // a label length pointing past the end
        if (out.length > 12) out[12 + int(rng, out.length - 12)] = 32 + int(rng, 32);
        break;
      case 5: // append garbage
        out = Buffer.concat([out, Buffer.from(Array.from({ length: 1 + int(rng, 20) }, () => int(rng, 256)))]);
        break;
      case 6: // duplicate the tail (two OPTs, two questions)
        out = Buffer.concat([out, out.subarray(12)]);
        break;
      default: // flip header flag bits (QR, opcode, Z)
        if (out.length >= 4) out[2 + int(rng, 2)] ^= 1 << int(rng, 8);
    }
  }
  return out;
}
