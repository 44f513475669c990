import { fail } from './errors.ts';

/** Refuses a header value that would split the message (config, auth plugins and upstreams are not trusted to be clean). */
function checkValue(v: string): void {
  if (v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0 || v.indexOf('\0') >= 0) fail('invalid_header_value', 'CR, LF or NUL in an outgoing header value', 502);
}

/** `flat` name/value pairs as header lines, each ending in CRLF; pairs before index `checkFrom` are known clean (parsed by the native parser). */
export function fieldLines(flat: readonly string[], checkFrom = 0): string {
  let s = '';
  let i = 0;
  for (; i < checkFrom && i < flat.length; i += 2) s += flat[i]! + ': ' + flat[i + 1]! + '\r\n';
  for (; i < flat.length; i += 2) {
    const v = flat[i + 1]!;
    checkValue(v);
    checkValue(flat[i]!);
    s += flat[i]! + ': ' + v + '\r\n';
  }
  return s;
}

const REASONS: Record<number, string> = {
  100: 'Continue', 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 206: 'Partial Content',
  301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout',
  409: 'Conflict', 411: 'Length Required', 413: 'Content Too Large', 414: 'URI Too Long', 417: 'Expectation Failed', 429: 'Too Many Requests',
  431: 'Request Header Fields Too Large', 499: 'Client Closed Request', 500: 'Internal Server Error', 501: 'Not Implemented',
  502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout', 505: 'HTTP Version Not Supported',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Unknown';
}

/** Status line + header lines + blank line; `framing` is the final framing line the caller decided on ('' for none). */
export function responseHead(status: number, statusText: string, flat: readonly string[], framing: string): string {
  if (statusText !== '') checkValue(statusText);
  return `HTTP/1.1 ${status} ${statusText || reasonPhrase(status)}\r\n${fieldLines(flat)}${framing}\r\n`;
}

export function requestHead(method: string, path: string, flat: readonly string[], framing: string, checkFrom = 0): string {
  if (path.indexOf(' ') >= 0) fail('invalid_request_target', 'space in an outgoing request target', 502);
  checkValue(path);
  return `${method} ${path} HTTP/1.1\r\n${fieldLines(flat, checkFrom)}${framing}\r\n`;
}

const CRLF = Buffer.from('\r\n');
export const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/** One chunk of a chunked body as the buffers to write (no copy of the data). */
export function chunkHeader(length: number): string {
  return length.toString(16) + '\r\n';
}
export { CRLF };
