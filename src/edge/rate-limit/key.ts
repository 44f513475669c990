import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RateLimitRuleConfig } from './types.ts';
import { readCookie } from '../http-util.ts';

/** What a limit reads from a request to find its key. */
export interface RateLimitSubject {
  readonly headers: IncomingHttpHeaders;
  readonly clientAddress: string | undefined;
  /** The verified JWT payload, when the route authenticated one. */
  readonly claims: Readonly<Record<string, unknown>> | undefined;
}

export type KeyReader = (s: RateLimitSubject) => string | undefined;

/** Long keys are hashed: the LRU bounds the number of keys, this bounds their size. */
const MAX_KEY_LENGTH = 128;

export function compileKeyReader(key: RateLimitRuleConfig['key']): KeyReader {
  if ('clientAddress' in key) return (s) => clientAddress(s.clientAddress);
  if ('header' in key) {
    const name = key.header.toLowerCase();
    return (s) => {
      const v = s.headers[name];
      const value = Array.isArray(v) ? v.join(',') : v;
      return value === undefined || value === '' ? undefined : bounded(value);
    };
  }
  if ('cookie' in key) {
    const name = key.cookie;
    return (s) => {
      const v = readCookie(s.headers.cookie, name);
      return v === undefined || v === '' ? undefined : bounded(v);
    };
  }
  const path = key.claim.split('.');
  return (s) => {
    let v: unknown = s.claims;
    for (const p of path) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string, unknown>)[p];
    }
    return typeof v === 'string' ? (v === '' ? undefined : bounded(v)) : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
  };
}

/** The key's name in logs, metrics and the default counter identity. */
export function describeKey(key: RateLimitRuleConfig['key']): string {
  if ('clientAddress' in key) return 'client-address';
  if ('header' in key) return `header:${key.header.toLowerCase()}`;
  if ('cookie' in key) return `cookie:${key.cookie}`;
  return `claim:${key.claim}`;
}

/** IPv4 clients on a dual-stack socket show up as ::ffff:a.b.c.d; one client, one key. */
export function clientAddress(address: string | undefined): string | undefined {
  if (address === undefined || address === '') return undefined;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function bounded(value: string): string {
  return value.length <= MAX_KEY_LENGTH ? value : `#${createHash('sha256').update(value).digest('base64url')}`;
}
