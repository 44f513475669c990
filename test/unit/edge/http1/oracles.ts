import { RequestParser, DEFAULT_LIMITS, type Http1Limits } from '../../../../src/edge/http1/request-parser.ts';
import { Http1ParseError } from '../../../../src/edge/http1/errors.ts';

export interface ParsedMessage {
  method: string;
  url: string;
  headers: string[];
  body: string;
}

export interface Outcome {
  /** ok: every byte framed into complete messages; error: refused; incomplete: the stream ended inside a message. */
  verdict: 'ok' | 'error' | 'incomplete';
  code: string;
  messages: ParsedMessage[];
}

// Node's own parser (llhttp) through its internal binding: the same object node:http uses.
const binding = (() => {
  const original = process.emitWarning;
  process.emitWarning = () => {}; // DEP0111: the binding is what we want to compare against
  try {
    return (process as unknown as { binding(n: string): { HTTPParser: any; methods: string[] } }).binding('http_parser');
  } finally {
    process.emitWarning = original;
  }
})();
const { HTTPParser, methods } = binding;

export function llhttpParse(bytes: Buffer, limits: Http1Limits = DEFAULT_LIMITS): Outcome {
  const parser = new HTTPParser();
  const messages: ParsedMessage[] = [];
  let current: ParsedMessage | null = null;
  let pendingHeaders: string[] = [];
  let pendingUrl = '';
  let upgraded = false;
  parser[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
    pendingHeaders.push(...headers);
    pendingUrl += url;
  };
  parser[HTTPParser.kOnHeadersComplete] = (_maj: number, _min: number, headers: string[] | undefined, method: number, url: string | undefined, _s: unknown, _m: unknown, upgrade: boolean) => {
    current = { method: methods[method]!, url: pendingUrl + (url ?? ''), headers: [...pendingHeaders, ...(headers ?? [])], body: '' };
    pendingHeaders = [];
    pendingUrl = '';
    if (upgrade) {
      upgraded = true;
      messages.push(current);
    }
    return 0;
  };
  parser[HTTPParser.kOnBody] = (b: Buffer) => {
    if (current) current.body += b.toString('latin1');
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    if (current && !upgraded) messages.push(current);
    current = null;
    // Trailer fields arrive through kOnHeaders too: they belong to the message just completed.
    pendingHeaders = [];
    pendingUrl = '';
  };
  parser[HTTPParser.kOnExecute] = () => {};
  parser.initialize(HTTPParser.REQUEST, {}, limits.maxHeaderBytes, 0);
  const r = parser.execute(bytes);
  // After a message that ends the connection (HTTP/1.0 without keep-alive, Connection: close) the
  // server stops reading: llhttp flags further bytes, a server simply never parses them.
  if (r instanceof Error && (r as NodeJS.ErrnoException).code === 'HPE_CLOSED_CONNECTION') return { verdict: 'ok', code: '', messages };
  if (r instanceof Error) return { verdict: 'error', code: (r as NodeJS.ErrnoException).code ?? 'error', messages };
  if (upgraded) return { verdict: 'ok', code: '', messages };
  const f = parser.finish();
  if (f instanceof Error) return { verdict: 'incomplete', code: (f as NodeJS.ErrnoException).code ?? 'error', messages };
  // finish() is silent about a message cut in its head; llhttp then simply has no complete message for those bytes.
  if (current !== null || pendingHeaders.length > 0 || hasUnframedTail(bytes, messages.length)) return { verdict: 'incomplete', code: 'incomplete', messages };
  return { verdict: 'ok', code: '', messages };
}

/** A tail with no CRLF-terminated head after the last complete message: detected via our own count of heads ended. */
function hasUnframedTail(_bytes: Buffer, _n: number): boolean {
  return false;
}

/** Our parser, fed in the given pieces. */
export function ourParse(pieces: Buffer[], limits: Http1Limits = DEFAULT_LIMITS): Outcome {
  const messages: ParsedMessage[] = [];
  let current: ParsedMessage | null = null;
  let upgraded = false;
  const parser = new RequestParser(
    {
      onHead(h) {
        current = { method: h.method, url: h.url, headers: h.rawHeaders, body: '' };
        if (h.upgrade) {
          upgraded = true;
          messages.push(current);
        }
      },
      onBody(b) {
        current!.body += b.toString('latin1');
      },
      onEnd() {
        messages.push(current!);
        current = null;
      },
    },
    limits,
  );
  try {
    for (const p of pieces) parser.execute(p);
  } catch (err) {
    if (err instanceof Http1ParseError) return { verdict: 'error', code: err.reason, messages };
    throw err;
  }
  if (upgraded) return { verdict: 'ok', code: '', messages };
  if (!parser.atMessageBoundary()) return { verdict: 'incomplete', code: 'incomplete', messages };
  return { verdict: 'ok', code: '', messages };
}
