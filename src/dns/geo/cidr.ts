import { parseIPv4, parseIPv6 } from '../wire/ip.ts';
import { DnsError } from '../errors.ts';

export interface Cidr {
  family: 4 | 6;
  bytes: Buffer;
  prefix: number;
}

/** `203.0.113.0/24` or `2001:db8::/32`; a bare address is a host route. Host bits must be zero. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const v4 = parseIPv4(addr);
  const bytes = v4 ?? parseIPv6(addr);
  if (!bytes) throw new DnsError('EP_DNS_GEO', `${JSON.stringify(text)} is not an IP network`);
  const max = bytes.length * 8;
  const prefixText = slash >= 0 ? text.slice(slash + 1) : String(max);
  const prefix = Number(prefixText);
  if (!/^[0-9]{1,3}$/.test(prefixText) || prefix > max) throw new DnsError('EP_DNS_GEO', `${JSON.stringify(text)} has an invalid prefix length`);
  for (let bit = prefix; bit < max; bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) {
      throw new DnsError('EP_DNS_GEO', `${JSON.stringify(text)} has bits set past /${prefix} (did you mean ${maskedText(bytes, prefix, v4 !== undefined)}?)`);
    }
  }
  return { family: v4 ? 4 : 6, bytes, prefix };
}

function maskedText(bytes: Buffer, prefix: number, v4: boolean): string {
  const m = Buffer.from(bytes);
  for (let bit = prefix; bit < m.length * 8; bit++) m[bit >> 3]! &= ~(0x80 >> (bit & 7));
  if (v4) return `${[...m].join('.')}/${prefix}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(m.readUInt16BE(i).toString(16));
  return `${groups.join(':')}/${prefix}`;
}
