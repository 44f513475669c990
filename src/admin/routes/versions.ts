import type { FastifyInstance } from 'fastify';
import { AdminRejectedError } from '../errors.ts';
import { bodyObject, changeMeta, writeOptions, written, type AdminContext } from './context.ts';

/**
 * GET /v1/versions: the kept history, newest first (who, when, what).
 * GET /v1/versions/:version: one version with its config (secrets redacted).
 * POST /v1/rollback with {version}: makes that version's config current again,
 * as a new version (history is never rewritten).
 */
export function versionRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get('/versions', async () => {
    const history = ctx.store.history;
    return { current: ctx.store.current.version, limit: history.limit, versions: history.summaries() };
  });

  app.get<{ Params: { version: string } }>('/versions/:version', async (req, reply) => {
    const v = Number(req.params.version);
    const record = Number.isSafeInteger(v) ? ctx.store.history.get(v) : undefined;
    if (!record) return reply.code(404).send({ errors: [{ path: 'version', message: `version ${req.params.version} is not in the history` }] });
    return record;
  });

  app.post('/rollback', async (req) => {
    const { version } = bodyObject(req.body, ['version']);
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
      throw new AdminRejectedError([{ path: 'version', message: 'must be a positive integer' }]);
    }
    const { source: _s, ...meta } = changeMeta(req, 'rollback');
    const result = await ctx.store.rollback(version, { ...meta, change: `rollback to ${version}` }, writeOptions(req));
    return written(req, result);
  });
}
