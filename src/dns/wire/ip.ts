import { isIPv4, isIPv6 } from 'node:net';

/** IPv4 dotted quad to 4 bytes, or undefined. */
export function parseIPv4(text: string): Buffer | undefined {
  if (!isIPv4(text)) return undefined;
  return Buffer.from(text.split('.').map(Number));
}

/** IPv6 text (with `::` and an optional dotted tail) to 16 bytes, or undefined. */
export function parseIPv6(text: string): Buffer | undefined {
  const pct = text.indexOf('%');
  let s = pct >= 0 ? text.slice(0, pct) : text;
  if (!isIPv6(s)) return undefined;
  const tail: number[] = [];
  if (s.includes('.')) {
    const i = s.lastIndexOf(':');
    const v4 = parseIPv4(s.slice(i + 1));
    if (!v4) return undefined;
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    s = s.slice(0, i + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const dbl = s.indexOf('::');
  const left = dbl >= 0 ? groups(s.slice(0, dbl)) : groups(s);
  const right = dbl >= 0 ? groups(s.slice(dbl + 2)) : [];
  const fill = 8 - left.length - right.length - tail.length;
  if (dbl < 0 ? fill !== 0 : fill < 0) return undefined;
  const all = [...left, ...new Array<number>(fill).fill(0), ...right, ...tail];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** Address bytes (4 or 16) back to text, for libraries that want strings. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // longest run of zero groups becomes `::`
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/**
 * A client address as the kernel reports it. IPv4-mapped IPv6 (`::ffff:a.b.c.d`,
 * what a dual-stack socket shows) becomes plain IPv4 so geo tables match.
 */
export function clientAddressBytes(text: string): Buffer | undefined {
  const v4 = parseIPv4(text);
  if (v4) return v4;
  const v6 = parseIPv6(text);
  if (!v6) return undefined;
  if (v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff) return Buffer.from(v6.subarray(12));
  return v6;
}
