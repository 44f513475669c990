import { Agent, request } from 'undici';
import { formatHostPort } from '../util/address.ts';
import type { Probe, ProbeResult } from './active-checker.ts';
import { BODY_MATCH_LIMIT } from './options.ts';

export interface HttpProbeOptions {
  path: string;
  host: string | undefined;
  expectedStatuses: readonly (readonly [number, number])[];
  bodyMatch: string | undefined;
  /** Set when the cluster talks TLS to its endpoints: checks then use TLS too. */
  tls?: { servername?: string; ca?: Buffer; rejectUnauthorized: boolean } | undefined;
}

const USER_AGENT = 'edgeplane-health-check/1';

/**
 * HTTP GET checks over a dispatcher of their own, so checks never queue
 * behind (or take connections from) proxied traffic. Whatever the endpoint
 * does, one check reads at most 64 KiB of body (undici caps the headers) and
 * ends by the checker's timeout: a hanging, redirecting, garbage-speaking or
 * megabyte-answering endpoint is just a failed check.
 */
export function createHttpProbe(o: HttpProbeOptions): { probe: Probe; close(): Promise<void> } {
  const tls = o.tls;
  const agent = new Agent({
    connections: 2,
    pipelining: 1,
    keepAliveTimeout: 10_000,
    // The checker's timeout aborts the request; these are only a backstop.
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
    connect: tls ? { rejectUnauthorized: tls.rejectUnauthorized, ...(tls.servername ? { servername: tls.servername } : {}), ...(tls.ca ? { ca: tls.ca } : {}) } : {},
  });
  const scheme = tls ? 'https' : 'http';
  const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept: '*/*' };
  if (o.host) headers.host = o.host;
  const needle = o.bodyMatch !== undefined ? Buffer.from(o.bodyMatch, 'utf8') : undefined;

  const probe: Probe = async (target, signal) => {
    const url = `${scheme}://${formatHostPort(target)}${o.path}`;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, { method: 'GET', headers, signal, dispatcher: agent });
    } catch (err) {
      return { ok: false, detail: describeError(err) };
    }
    const { statusCode, body } = res;
    try {
      if (!statusMatches(statusCode, o.expectedStatuses)) {
        await body.dump({ limit: BODY_MATCH_LIMIT });
        return { ok: false, detail: `status ${statusCode}` };
      }
      if (!needle) {
        await body.dump({ limit: BODY_MATCH_LIMIT });
        return { ok: true, detail: `status ${statusCode}` };
      }
      return await matchBody(body, needle, statusCode, o.bodyMatch!);
    } catch (err) {
      discard(body);
      return { ok: false, detail: describeError(err) };
    }
  };
  return { probe, close: () => agent.close().catch(() => agent.destroy()) };
}

/** Drops a body we stop reading. undici reports that as an abort error on the stream: expected here, so swallowed. */
function discard(body: { on(event: 'error', fn: () => void): unknown; destroy(): void }): void {
  body.on('error', () => {});
  body.destroy();
}

async function matchBody(body: AsyncIterable<Buffer> & { on(event: 'error', fn: () => void): unknown; destroy(): void }, needle: Buffer, statusCode: number, text: string): Promise<ProbeResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const take = Math.min(chunk.length, BODY_MATCH_LIMIT - size);
    chunks.push(take === chunk.length ? chunk : chunk.subarray(0, take));
    size += take;
    // Search what we have so far: a needle across a chunk boundary is found too.
    if (Buffer.concat(chunks, size).includes(needle)) {
      discard(body);
      return { ok: true, detail: `status ${statusCode}, body matched` };
    }
    if (size >= BODY_MATCH_LIMIT) {
      discard(body);
      return { ok: false, detail: `body does not contain ${JSON.stringify(text)} in the first ${BODY_MATCH_LIMIT} bytes` };
    }
  }
  return { ok: false, detail: `body does not contain ${JSON.stringify(text)}` };
}

export function statusMatches(status: number, ranges: readonly (readonly [number, number])[]): boolean {
  for (const [lo, hi] of ranges) if (status >= lo && status <= hi) return true;
  return false;
}

function describeError(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string };
  if (e?.name === 'AbortError' || e?.code === 'ABORT_ERR' || e?.code === 'UND_ERR_ABORTED') return 'aborted';
  if (e?.code === 'HPE_INVALID_CONSTANT' || e?.name === 'HTTPParserError' || (typeof e?.code === 'string' && e.code.startsWith('HPE_'))) return 'invalid HTTP response';
  if (e?.code === 'UND_ERR_SOCKET') return 'connection closed by the endpoint';
  if (e?.code === 'UND_ERR_CONNECT_TIMEOUT') return 'connect timeout';
  if (e?.code === 'UND_ERR_HEADERS_OVERFLOW') return 'response headers too large';
  if (typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code)) return `connect ${e.code}`;
  return e?.message ? `error: ${e.message}` : 'error';
}
