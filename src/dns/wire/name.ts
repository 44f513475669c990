import { MAX_LABEL, MAX_NAME_WIRE } from './constants.ts';
import { DnsError } from '../errors.ts';

/**
 * A domain name in uncompressed wire form (length-prefixed labels ending in a
 * zero byte), lowercased. Names from the config are kept this way so that the
 * answer builder can copy them and the lookup key is just the bytes.
 */
export type WireName = Buffer;

export const ROOT: WireName = Buffer.from([0]);

const LABEL_CHARS = /^[a-z0-9_-]+$/;

/**
 * Parses a name written in the config. `origin` makes names without a trailing
 * dot relative (record owners); without it every name is absolute (record values,
 * SOA and NS targets), so `ns1.svc.plus` means what it says.
 */
export function nameFromText(text: string, origin?: WireName): WireName {
  const raw = text.trim().toLowerCase();
  if (raw === '@') {
    if (!origin) throw new DnsError('EP_DNS_NAME', '"@" is only valid for record names');
    return origin;
  }
  if (raw === '') throw new DnsError('EP_DNS_NAME', 'empty name');
  if (raw === '.') return ROOT;
  const absolute = raw.endsWith('.') || origin === undefined;
  const body = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  const labels = body.split('.');
  const parts: Buffer[] = [];
  for (const [i, label] of labels.entries()) {
    if (label.length === 0) throw new DnsError('EP_DNS_NAME', `empty label in name ${JSON.stringify(text)}`);
    if (label.length > MAX_LABEL) throw new DnsError('EP_DNS_NAME', `label "${label}" is longer than ${MAX_LABEL} characters`);
    if (label === '*') {
      // RFC 4592 2.1.1: only the leftmost label makes a wildcard; names in values are never wildcards
      if (i !== 0 || !origin) throw new DnsError('EP_DNS_NAME', `"*" is only valid as the first label of a record name (${JSON.stringify(text)})`);
      parts.push(Buffer.from([1, 0x2a]));
      continue;
    }
    if (!LABEL_CHARS.test(label)) throw new DnsError('EP_DNS_NAME', `label "${label}" may only contain letters, digits, "-" and "_"`);
    parts.push(Buffer.from([label.length]), Buffer.from(label, 'ascii'));
  }
  const wire = absolute ? Buffer.concat([...parts, ROOT]) : Buffer.concat([...parts, origin!]);
  if (wire.length > MAX_NAME_WIRE) throw new DnsError('EP_DNS_NAME', `name ${JSON.stringify(text)} is longer than 255 bytes in wire form`);
  return wire;
}

/** Presentation form without the trailing dot (the root is "."). */
export function nameToText(wire: Buffer, offset = 0): string {
  if (wire[offset] === 0) return '.';
  const out: string[] = [];
  let i = offset;
  while (i < wire.length && wire[i] !== 0) {
    const len = wire[i]!;
    out.push(escapeLabel(wire.subarray(i + 1, i + 1 + len)));
    i += len + 1;
  }
  return out.join('.');
}

function escapeLabel(label: Buffer): string {
  let s = '';
  for (const b of label) {
    if (b === 0x2e || b === 0x5c) s += '\\' + String.fromCharCode(b);
    else if (b > 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += '\\' + b.toString().padStart(3, '0');
  }
  return s;
}

/** The map key of a wire name: its bytes as a latin1 string (already lowercase). */
export function nameKey(wire: WireName): string {
  return wire.toString('latin1');
}

/** Lowercases ASCII letters only (RFC 4343): other bytes are data, not letters. */
export function lowerKeyOf(buf: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x41 && c <= 0x5a) return lowerSlow(buf, start, end);
  }
  return buf.toString('latin1', start, end);
}

function lowerSlow(buf: Buffer, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    s += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
  }
  return s;
}

/** Byte offsets where each label (and finally the root) starts. */
export function labelOffsets(wire: Buffer): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < wire.length) {
    out.push(i);
    const len = wire[i]!;
    if (len === 0) break;
    i += len + 1;
  }
  return out;
}

export function labelCount(wire: Buffer): number {
  return labelOffsets(wire).length - 1;
}

/** True when `name` equals `ancestor` or lies below it. */
export function isAtOrBelow(name: WireName, ancestor: WireName): boolean {
  if (ancestor.length > name.length) return false;
  const start = name.length - ancestor.length;
  if (!labelOffsets(name).includes(start)) return false;
  return name.subarray(start).equals(ancestor);
}

/** True for `*.<anything>` (RFC 4592). */
export function isWildcard(name: WireName): boolean {
  return name[0] === 1 && name[1] === 0x2a;
}

/** The parent name (one label removed); the root has none. */
export function parentName(name: WireName): WireName | undefined {
  if (name[0] === 0) return undefined;
  return name.subarray(name[0]! + 1);
}
