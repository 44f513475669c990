import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GatewayProcess } from '../../helpers/gateway-process.ts';

export const TOKEN = 'test-admin-token-7f3a9c';

/** A gateway config on OS-chosen loopback ports: route `api` splits blue/green. */
export function gatewayConfig(blue: string[], green: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    node: { id: 'gw-test', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    clusters: [
      { name: 'blue', endpoints: blue },
      { name: 'green', endpoints: green },
    ],
    // No retries: a test that counts failed requests must not have them hidden.
    routes: [{ name: 'api', match: { path: { prefix: '/' } }, split: [{ cluster: 'blue', weight: 90 }, { cluster: 'green', weight: 10 }] }],
    admin: { address: '127.0.0.1:0', token: TOKEN },
    drain: { delay: '200ms', timeout: '10s' },
    ...extra,
  };
}

export interface AdminResponse {
  status: number;
  headers: Headers;
  body: any;
}

/** Calls the admin API of a gateway; `token: null` sends no Authorization header. */
export async function call(gw: GatewayProcess, method: string, path: string, options: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {}): Promise<AdminResponse> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(gw.adminUrl() + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // /metrics is text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/**
 * Sends a body the server may refuse before reading it (413): resolves with
 * the response as soon as it arrives. fetch() instead rejects with EPIPE when
 * the server closes while the body is still being written, a race that
 * depends on the machine's load.
 */
export function callRefusedEarly(gw: GatewayProcess, method: string, path: string, body: string): Promise<{ status: number; body: any }> {
  const url = new URL(path, gw.adminUrl());
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      res.on('error', reject);
    });
    // The headers go first: a server that refuses by Content-Length answers before any body byte is sent,
    // so the answer cannot race the body's write. A server that reads the body first gets it after a grace period.
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.flushHeaders();
    const grace = setTimeout(() => {
      if (!answered) req.end(body);
    }, 5000);
    req.on('close', () => clearTimeout(grace));
  });
}

/** The state file's bytes (the config history), for "nothing changed on disk" checks. */
export function stateFile(gw: GatewayProcess): string {
  return readFileSync(join(gw.dir, 'state', 'config.json'), 'utf8');
}

/** One request through the gateway's `http` listener on a fresh connection; resolves with status and the upstream's JSON. */
export function request(gw: GatewayProcess, path = '/', headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const url = new URL(path, gw.url('http'));
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (data += d));
      res.on('end', () => {
        let body: unknown = data;
        try {
          body = JSON.parse(data);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads one sample of a Prometheus counter from /metrics text. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? ([0-9.eE+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const pair of (m[3] ?? '').split(',').filter(Boolean)) {
      const [k, v] = pair.split('=');
      got[k!] = JSON.parse(v!);
    }
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return 0;
}
