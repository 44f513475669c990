import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from './errors.ts';
import { adminMetrics } from './metrics.ts';

/**
 * Compares two tokens in constant time. Both sides are hashed first so the
 * comparison takes the same time whatever their lengths, and the length of the
 * real token doesn't leak either.
 */
export function tokensEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

/**
 * The onRequest hook guarding /v1: `Authorization: Bearer <token>`. The token
 * is read on every request (a SIGHUP can rotate it). Without a configured
 * token the admin listener is loopback-only (AdminServer refuses anything else)
 * and /v1 is open to local processes; the gateway warns about that at start.
 * Every refusal is counted in edgeplane_admin_unauthorized_total.
 */
export function bearerAuth(token: () => string | undefined) {
  return async function checkBearer(req: FastifyRequest): Promise<void> {
    const expected = token();
    if (!expected) return;
    const header = req.headers.authorization;
    if (header === undefined || header === '') return refuse('missing');
    const m = BEARER.exec(header);
    if (!m) return refuse('malformed');
    if (!tokensEqual(m[1]!, expected)) return refuse('invalid');
  };
}

function refuse(reason: 'missing' | 'malformed' | 'invalid'): never {
  adminMetrics.unauthorized.labels(reason).inc();
  throw new UnauthorizedError();
}
