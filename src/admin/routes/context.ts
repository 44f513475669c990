import type { FastifyRequest } from 'fastify';
import type { HealthReport } from '../../health/types.ts';
import type { ConfigStore, ChangeMeta, ChangeResult, WriteOptions } from '../../control/store.ts';
import { AdminRejectedError, type AdminIssue } from '../errors.ts';

/** What the /v1 route groups need from the gateway, and nothing more. */
export interface AdminContext {
  store: ConfigStore;
  /** The body of GET /v1/health. */
  healthReport: () => HealthReport;
}

/** What a write answered, kept per request for the audit log's onResponse hook. */
export const writeOutcome = new WeakMap<FastifyRequest, ChangeResult>();

const AUTHOR = /^[\x20-\x7e]{1,64}$/;

/** Who is writing: the X-Edgeplane-Author header when it is short printable ASCII, else `admin-api`. */
export function authorOf(req: FastifyRequest): string {
  const h = req.headers['x-edgeplane-author'];
  const v = Array.isArray(h) ? h[0] : h;
  return v && AUTHOR.test(v) ? v.trim() || 'admin-api' : 'admin-api';
}

export function changeMeta(req: FastifyRequest, source: ChangeMeta['source'] = 'api'): ChangeMeta {
  return { source, author: authorOf(req), change: `${req.method} ${req.url.split('?')[0]}` };
}

export function writeOptions(req: FastifyRequest, mapPath?: (path: string) => string): WriteOptions {
  const ifMatch = req.headers['if-match'];
  return { ...(typeof ifMatch === 'string' ? { ifVersion: ifMatch } : {}), ...(mapPath ? { mapPath } : {}) };
}

/** The answer to every accepted write. */
export function written(req: FastifyRequest, result: ChangeResult): { version: number; previousVersion: number; changed: boolean } {
  writeOutcome.set(req, result);
  return { version: result.version, previousVersion: result.previousVersion, changed: result.changed };
}

/**
 * Checks that a body is an object with exactly the expected keys, reporting
 * every missing and unknown key at once.
 */
export function bodyObject(body: unknown, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AdminRejectedError([{ path: '', message: `the body must be a JSON object with ${required.map((k) => `"${k}"`).join(', ')}` }]);
  }
  const obj = body as Record<string, unknown>;
  const issues: AdminIssue[] = [];
  for (const k of required) if (obj[k] === undefined) issues.push({ path: k, message: `missing required key "${k}"` });
  for (const k of Object.keys(obj)) if (!required.includes(k) && !optional.includes(k)) issues.push({ path: k, message: `unknown key "${k}"` });
  if (issues.length) throw new AdminRejectedError(issues);
  return obj;
}

/** `routes[3].split[1].weight` → `split[1].weight` for index 3: issues name the request's own paths. */
export function mapPrefix(from: string, to: string): (path: string) => string {
  return (path) => (path === from ? to : path.startsWith(from + '.') || path.startsWith(from + '[') ? to + path.slice(from.length) : path);
}
