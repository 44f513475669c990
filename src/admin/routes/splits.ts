import type { FastifyInstance } from 'fastify';
import type { RouteConfig } from '../../config/schema/index.ts';
import { AdminRejectedError } from '../errors.ts';
import { bodyObject, changeMeta, mapPrefix, writeOptions, written, type AdminContext } from './context.ts';

/**
 * PUT /v1/routes/:name/split with {split:[{cluster,weight}]}: the route's
 * weights, validated with the rest of the config (known clusters, total above 0).
 */
export function splitRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.put<{ Params: { name: string } }>('/routes/:name/split', async (req) => {
    const { split } = bodyObject(req.body, ['split']);
    const name = req.params.name;
    let index = -1;
    const result = await ctx.store.update(
      (draft) => {
        index = draft.routes.findIndex((r) => r.name === name);
        if (index < 0) throw new AdminRejectedError([{ path: 'name', message: `no route named "${name}"` }]);
        draft.routes[index]!.split = split as RouteConfig['split'];
      },
      changeMeta(req),
      writeOptions(req, (p) => mapPrefix(`routes[${index}].split`, 'split')(p)),
    );
    return written(req, result);
  });
}
