import type { FastifyInstance } from 'fastify';
import { redactSecrets } from '../../control/secrets.ts';
import { changeMeta, writeOptions, written, type AdminContext } from './context.ts';

/**
 * GET /v1/config → {version, config}, secrets replaced by "[redacted]", with
 * ETag "<version>" (send it back as If-Match to refuse lost updates).
 * PUT /v1/config replaces the whole config: the body is the config itself or
 * {config}; "[redacted]" keeps a secret as it is; the admin section may be
 * left out.
 */
export function configRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get('/config', async (_req, reply) => {
    const { version, config } = ctx.store.current;
    void reply.header('etag', `"${version}"`);
    return { version, config: redactSecrets(config) };
  });

  app.put('/config', async (req) => {
    const result = await ctx.store.replace(req.body, changeMeta(req), writeOptions(req));
    return written(req, result);
  });
}
