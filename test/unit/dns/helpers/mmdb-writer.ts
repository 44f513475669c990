/**
 * Writes a tiny MaxMind DB (format 2.0, IPv6 tree, 24-bit records) so the
 * MMDB path can be tested without shipping a GeoLite database. IPv4 networks
 * live under ::/96 as in MaxMind's own files. Only what the tests need:
 * non-overlapping networks mapped to country records.
 */
import { isIPv4 } from 'node:net';
import { parseIPv4, parseIPv6 } from '../../../../src/dns/wire/ip.ts';

type Value = string | number | { [k: string]: Value } | Value[];

function ctrl(type: number, size: number): Buffer {
  const head: number[] = [];
  let sizeBits: number;
  const extra: number[] = [];
  if (size < 29) sizeBits = size;
  else if (size < 285) {
    sizeBits = 29;
    extra.push(size - 29);
  } else {
    sizeBits = 30;
    const v = size - 285;
    extra.push(v >> 8, v & 0xff);
  }
  if (type <= 7) head.push((type << 5) | sizeBits);
  else head.push(sizeBits, type - 7);
  return Buffer.from([...head, ...extra]);
}

function encode(v: Value): Buffer {
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([ctrl(2, b.length), b]);
  }
  if (typeof v === 'number') {
    // uint32 (type 6), minimal big-endian bytes
    const bytes: number[] = [];
    for (let n = v; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
    return Buffer.concat([ctrl(6, bytes.length), Buffer.from(bytes)]);
  }
  if (Array.isArray(v)) return Buffer.concat([ctrl(11, v.length), ...v.map(encode)]);
  const entries = Object.entries(v);
  return Buffer.concat([ctrl(7, entries.length), ...entries.flatMap(([k, val]) => [encode(k), encode(val)])]);
}

interface Node {
  rec: [Node | number | undefined, Node | number | undefined];
}

export interface MmdbNetwork {
  cidr: string;
  country?: string;
  continent?: string;
}

export function writeMmdb(networks: MmdbNetwork[]): Buffer {
  const dataParts: Buffer[] = [];
  const dataOffsets: number[] = [];
  let dataLen = 0;
  for (const n of networks) {
    const rec: { [k: string]: Value } = {};
    if (n.continent) rec.continent = { code: n.continent };
    if (n.country) rec.country = { iso_code: n.country };
    const b = encode(rec);
    dataOffsets.push(dataLen);
    dataParts.push(b);
    dataLen += b.length;
  }
  const root: Node = { rec: [undefined, undefined] };
  networks.forEach((n, i) => {
    const [addr, bitsText] = n.cidr.split('/');
    let bytes: Buffer;
    let len: number;
    if (isIPv4(addr!)) {
      bytes = Buffer.concat([Buffer.alloc(12), parseIPv4(addr!)!]);
      len = 96 + Number(bitsText);
    } else {
      bytes = parseIPv6(addr!)!;
      len = Number(bitsText);
    }
    let node = root;
    for (let d = 0; d < len - 1; d++) {
      const bit = (bytes[d >> 3]! >> (7 - (d & 7))) & 1;
      const next = node.rec[bit];
      if (typeof next === 'number') throw new Error('overlapping networks are not supported by this writer');
      if (!next) node.rec[bit] = { rec: [undefined, undefined] };
      node = node.rec[bit] as Node;
    }
    const bit = (bytes[(len - 1) >> 3]! >> (7 - ((len - 1) & 7))) & 1;
    if (node.rec[bit] !== undefined) throw new Error('overlapping networks are not supported by this writer');
    node.rec[bit] = i;
  });
  const order: Node[] = [];
  const ids = new Map<Node, number>();
  const queue = [root];
  while (queue.length) {
    const n = queue.shift()!;
    ids.set(n, order.length);
    order.push(n);
    for (const r of n.rec) if (r && typeof r === 'object') queue.push(r);
  }
  const nodeCount = order.length;
  const tree = Buffer.alloc(nodeCount * 6);
  const value = (r: Node | number | undefined) => (r === undefined ? nodeCount : typeof r === 'number' ? nodeCount + 16 + dataOffsets[r]! : ids.get(r)!);
  order.forEach((n, i) => {
    tree.writeUIntBE(value(n.rec[0]), i * 6, 3);
    tree.writeUIntBE(value(n.rec[1]), i * 6 + 3, 3);
  });
  const meta = encode({
    node_count: nodeCount,
    record_size: 24,
    ip_version: 6,
    database_type: 'edgeplane-test-country',
    languages: ['en'],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: 1_700_000_000,
    description: { en: 'test' },
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...dataParts, Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com'), meta]);
}
