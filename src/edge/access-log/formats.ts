import type { AccessRecord } from './record.ts';

export type Redact = (target: string) => string;

/** One JSON object per line; field names are stable (log pipelines key on them). Absent values are left out. */
export function formatJson(r: AccessRecord, redact: Redact): string {
  const o: Record<string, string | number> = {
    time: new Date(r.startedAt).toISOString(),
    clientAddress: r.clientAddress,
    method: r.method,
    authority: r.authority,
    path: redact(r.path),
    protocol: r.protocol,
    status: r.status,
    bytesIn: r.bytesIn,
    bytesOut: r.bytesOut,
  };
  if (r.userAgent !== undefined) o.userAgent = r.userAgent;
  if (r.referer !== undefined) o.referer = redact(r.referer);
  o.route = r.route;
  if (r.cluster !== undefined) o.cluster = r.cluster;
  if (r.endpoint !== undefined) o.endpoint = r.endpoint;
  o.attempts = r.attempts;
  if (r.upstreamConnectMs >= 0) o.upstreamConnectMs = round(r.upstreamConnectMs);
  if (r.upstreamResponseMs >= 0) o.upstreamResponseMs = round(r.upstreamResponseMs);
  o.totalMs = round(r.totalMs);
  o.requestId = r.requestId;
  if (r.tlsVersion !== undefined) o.tlsVersion = r.tlsVersion;
  if (r.sni !== undefined) o.sni = r.sni;
  if (r.jwtSubject !== undefined) o.jwtSubject = r.jwtSubject;
  if (r.error !== undefined) o.error = r.error;
  return JSON.stringify(o);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * nginx's `combined`: `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`,
 * time in UTC, strings escaped as nginx escapes them (`"`, `\` and bytes outside printable ASCII as \xHH).
 */
export function formatCombined(r: AccessRecord, redact: Redact): string {
  const user = r.jwtSubject === undefined ? '-' : escape(r.jwtSubject) || '-';
  const request = `${r.method} ${redact(r.path)} ${r.protocol}`;
  return `${r.clientAddress || '-'} - ${user} [${timeLocal(r.startedAt)}] "${escape(request)}" ${r.status} ${r.bytesOut} "${escape(r.referer === undefined ? '-' : redact(r.referer))}" "${escape(r.userAgent ?? '-')}"`;
}

function timeLocal(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function escape(s: string): string {
  if (PLAIN.test(s)) return s;
  let out = '';
  for (const ch of Buffer.from(s, 'utf8')) {
    if (ch === 0x22 || ch === 0x5c || ch < 0x20 || ch > 0x7e) out += `\\x${ch.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += String.fromCharCode(ch);
  }
  return out;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
