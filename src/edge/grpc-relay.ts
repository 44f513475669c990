/**
 * What the Exchange (src/edge/proxy.ts) needs to relay a gRPC call: the status
 * in a header list, trailers for an HTTP/2 client, the description of the
 * gateway's own JSON answer.
 */
import type { Http2ServerResponse } from 'node:http2';
import { HOP_BY_HOP } from './http-util.ts';

/** gRPC request bodies kept for a retry at most (Envoy's per_request_buffer_limit is of this order). */
export const REPLAY_LIMIT = 64 * 1024;
export const GRPC_STATUS_FIELDS = new Set(['grpc-status', 'grpc-message', 'grpc-status-details-bin']);

/** grpc-status in a flat header list, or -1. */
export function findGrpcStatus(flat: readonly (string | Buffer)[]): number {
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toString();
    if (name.length === 11 && name.toLowerCase() === 'grpc-status') {
      const code = Number(flat[i + 1]!.toString());
      return Number.isInteger(code) && code >= 0 ? code : -1;
    }
  }
  return -1;
}

/** The message of a JSON answer the gateway made (JWT failures), for grpc-message. */
export function describeLocal(body: string): string {
  try {
    const o = JSON.parse(body) as { error?: string; error_description?: string };
    return [o.error, o.error_description].filter(Boolean).join(': ') || 'refused';
  } catch {
    return 'refused';
  }
}

/** Trailers from the upstream (hop-by-hop names dropped, repeats joined) for an HTTP/2 client. */
export function forwardTrailers(res: Http2ServerResponse, flat: string[] | Buffer[]): void {
  const obj: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const k = flat[i]!.toString().toLowerCase();
    if (!HOP_BY_HOP.has(k)) obj[k] = obj[k] === undefined ? flat[i + 1]!.toString() : `${obj[k]}, ${flat[i + 1]!.toString()}`;
  }
  res.addTrailers(obj);
}
