import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config, ClusterConfig } from '../../config/schema/index.ts';
import { AdminRejectedError } from '../errors.ts';
import { bodyObject, changeMeta, writeOptions, written, type AdminContext } from './context.ts';

type Req = FastifyRequest<{ Params: { name: string }; Querystring: { address?: string } }>;

/**
 * POST|DELETE /v1/clusters/:name/endpoints with {address}: adds or removes one
 * static endpoint. A removed endpoint is drained, not cut: requests already
 * sent to it finish, new ones go elsewhere. DELETE also takes ?address=.
 */
export function endpointRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const change = (req: Req, address: string, edit: (cluster: ClusterConfig, address: string) => void) => {
    let clusterIndex = -1;
    return ctx.store.update(
      (draft: Config) => {
        clusterIndex = draft.clusters.findIndex((c) => c.name === req.params.name);
        if (clusterIndex < 0) throw new AdminRejectedError([{ path: 'name', message: `no cluster named "${req.params.name}"` }]);
        const cluster = draft.clusters[clusterIndex]!;
        const source = cluster.discovery && Object.keys(cluster.discovery).find((k) => (cluster.discovery as Record<string, unknown>)[k] !== undefined);
        if (!cluster.endpoints) {
          throw new AdminRejectedError([{ path: 'name', message: `cluster "${cluster.name}" gets its endpoints from discovery${source ? `.${source}` : ''}, not a static list` }]);
        }
        edit(cluster, address);
      },
      changeMeta(req),
      writeOptions(req, (p) => (p.startsWith(`clusters[${clusterIndex}].endpoints`) ? 'address' : p)),
    );
  };

  app.post('/clusters/:name/endpoints', async (req: Req) => {
    const address = addressOf(bodyObject(req.body, ['address']).address);
    const result = await change(req, address, (cluster, a) => {
      if (cluster.endpoints!.includes(a)) throw new AdminRejectedError([{ path: 'address', message: `${a} is already an endpoint of cluster "${cluster.name}"` }]);
      cluster.endpoints!.push(a);
    });
    return written(req, result);
  });

  app.delete('/clusters/:name/endpoints', async (req: Req) => {
    const raw = req.body === undefined && req.query.address !== undefined ? req.query.address : bodyObject(req.body, ['address']).address;
    const address = addressOf(raw);
    const result = await change(req, address, (cluster, a) => {
      const i = cluster.endpoints!.indexOf(a);
      if (i < 0) throw new AdminRejectedError([{ path: 'address', message: `${a} is not an endpoint of cluster "${cluster.name}"` }]);
      cluster.endpoints!.splice(i, 1);
    });
    return written(req, result);
  });
}

function addressOf(value: unknown): string {
  if (typeof value !== 'string' || value.length < 3 || value.length > 300) {
    throw new AdminRejectedError([{ path: 'address', message: 'must be a host:port string' }]);
  }
  return value;
}
