/**
 * One access-log entry. The exchange fills it from what it already holds;
 * nothing here is a header the client could hide a secret in except the
 * user agent and the referrer (whose query string is redacted like the path's).
 */
export interface AccessRecord {
  /** Wall-clock ms when the request arrived. */
  startedAt: number;
  clientAddress: string;
  method: string;
  authority: string;
  /** Path and query as received (the formatter redacts the query). */
  path: string;
  protocol: string;
  status: number;
  /** Request body bytes (Content-Length, or what the connection read for a chunked HTTP/1.1 body). */
  bytesIn: number;
  /** Response body bytes sent. */
  bytesOut: number;
  userAgent: string | undefined;
  referer: string | undefined;
  route: string;
  cluster: string | undefined;
  endpoint: string | undefined;
  attempts: number;
  /** Last attempt: dispatch to the upstream connection taking the request (includes any TCP/TLS connect); -1 when never sent. */
  upstreamConnectMs: number;
  /** Last attempt: dispatch to the upstream's response headers; -1 when none came. */
  upstreamResponseMs: number;
  totalMs: number;
  requestId: string;
  tlsVersion: string | undefined;
  sni: string | undefined;
  /** The verified token's `sub`, only filled when `jwtSubject` is on. */
  jwtSubject: string | undefined;
  /** The gateway's reason when it answered itself or the upstream failed (no_route, rate_limited, upstream_timeout...). */
  error: string | undefined;
}
