/**
 * gRPC over the HTTP proxy: what the exchange needs to know about it. Pure
 * functions; the mappings are gRPC's own (doc/http-grpc-status-mapping.md)
 * and Envoy's (grpcToHttpStatus for outlier detection).
 */

/** Status codes by the names retry policies use (Envoy's `retry_on` gRPC names). */
export const GRPC_RETRY_NAMES: Readonly<Record<string, number>> = {
  cancelled: 1,
  'deadline-exceeded': 4,
  'resource-exhausted': 8,
  internal: 13,
  unavailable: 14,
};

export function isGrpcRequest(contentType: string | string[] | undefined): boolean {
  return typeof contentType === 'string' && contentType.startsWith('application/grpc');
}

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** `grpc-timeout` (1 to 8 digits and a unit, e.g. `250m`, `5S`) in ms; undefined when absent or malformed. */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || value.length < 2 || value.length > 9) return undefined;
  const unit = UNIT_MS[value[value.length - 1]!];
  const digits = value.slice(0, -1);
  if (unit === undefined || !/^[0-9]+$/.test(digits)) return undefined;
  return Math.max(1, Math.ceil(Number(digits) * unit));
}

/** The HTTP status a gRPC status counts as for outlier detection and metrics (Envoy's grpcToHttpStatus). */
export function grpcToHttpStatus(code: number): number {
  switch (code) {
    case 0: return 200;
    case 1: return 499;
    case 3: case 9: case 11: return 400;
    case 4: return 504;
    case 5: return 404;
    case 6: case 10: return 409;
    case 7: return 403;
    case 8: return 429;
    case 12: return 501;
    case 14: return 503;
    case 16: return 401;
    default: return 500; // 2 UNKNOWN, 13 INTERNAL, 15 DATA_LOSS, anything else
  }
}

/** The gRPC status for a reply the gateway makes itself (gRPC's HTTP-to-gRPC mapping, with the gateway's own cases). */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400: return 13;
    case 401: return 16;
    case 403: return 7;
    case 404: return 12;
    case 429: return 8;
    case 502: case 503: return 14;
    case 504: return 4;
    default: return status >= 200 && status < 300 ? 0 : 2;
  }
}

/** grpc-message is percent-encoded (RFC 3986 unreserved and printable ASCII except %, as the gRPC spec says). */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
