import type { Rng } from '../../../src/util/rng.ts';
import { randomInt } from '../../../src/util/rng.ts';

/** Route set for the normalisation fuzzer: exact and wildcard hosts, exact/prefix/regex paths, one catch-all. */
export function fuzzRoutes(cluster: string): { name: string; match: Record<string, unknown>; split: { cluster: string; weight: number }[] }[] {
  const to = [{ cluster, weight: 1 }];
  return [
    { name: 'secure', match: { hosts: ['secure.svc.plus'], path: { prefix: '/' } }, split: to },
    { name: 'admin', match: { hosts: ['api.svc.plus'], path: { prefix: '/admin' } }, split: to },
    { name: 'secret-exact', match: { hosts: ['api.svc.plus'], path: { exact: '/secret' } }, split: to },
    { name: 'public', match: { hosts: ['api.svc.plus'], path: { prefix: '/public' } }, split: to },
    { name: 'api-rest', match: { hosts: ['api.svc.plus'], path: { prefix: '/' } }, split: to },
    { name: 'wild-ab', match: { hosts: ['*.svc.plus'], path: { prefix: '/a/b' } }, split: to },
    { name: 'tilde', match: { hosts: ['*.svc.plus'], path: { regex: '/~x(/.*)?' } }, split: to },
    { name: 'catch-all', match: { path: { prefix: '/' } }, split: to },
  ];
}

const HOSTS = ['api.svc.plus', 'secure.svc.plus', 'www.svc.plus', 'other.example', 'localhost'];
const SEGMENTS = [
  'public', 'admin', 'secret', 'a', 'b', 'x', '.', '..', '.', '..', '%2e', '%2E%2e', '.%2e', '%2e.', '', '%61dmin', 'ADMIN', '%7e', '~x', '%7Ex',
  'x;y', '..;', '%2f', '%2F', '%5c', '%41', 'p%20q', '%', '%g1', 'public..', '...', 'adm%69n', '%2e%2e%2f', '..%2f', 'a%2fb',
];
const SEPARATORS = ['/', '/', '/', '/', '//', '\\'];

export interface FuzzCase {
  /** Request target as sent (origin-form, or absolute-form for HTTP/1.1). */
  target: string;
  /** Host header value. */
  host: string;
}

function mutateCase(rng: Rng, s: string): string {
  let out = '';
  for (const c of s) out += rng.next() < 0.2 ? c.toUpperCase() : c;
  return out;
}

/** A random authority: case changes, trailing dots, ports, now and then a malformed one. */
export function fuzzHost(rng: Rng): string {
  let h = mutateCase(rng, HOSTS[randomInt(rng, HOSTS.length)]!);
  if (rng.next() < 0.3) h += '.';
  if (rng.next() < 0.3) h += `:${[80, 8080, 443][randomInt(rng, 3)]}`;
  if (rng.next() < 0.03) {
    const junk = [' ', '_', '@', '%41', '/', '..', '[', '\\'][randomInt(rng, 8)]!;
    const at = randomInt(rng, h.length + 1);
    h = h.slice(0, at) + junk + h.slice(at);
  }
  return h;
}

/** A random request target built from dot segments, encodings and separators that routers and servers disagree on. */
export function fuzzTarget(rng: Rng): string {
  const depth = 1 + randomInt(rng, 6);
  let p = '';
  for (let i = 0; i < depth; i++) p += SEPARATORS[randomInt(rng, SEPARATORS.length)]! + SEGMENTS[randomInt(rng, SEGMENTS.length)]!;
  if (p[0] !== '/') p = '/' + p.slice(1);
  if (rng.next() < 0.2) p += '/';
  if (rng.next() < 0.2) p += '?q=/../admin&r=%2e%2e';
  return p;
}

export function fuzzCase(rng: Rng): FuzzCase {
  const host = fuzzHost(rng);
  const target = fuzzTarget(rng);
  // Absolute-form now and then, naming the same host as the Host header (a different one is refused).
  if (rng.next() < 0.05) return { target: `http://${host}${target}`, host };
  return { target, host };
}
