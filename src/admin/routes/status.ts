import type { FastifyInstance } from 'fastify';
import type { AdminContext } from './context.ts';
import type { ReleaseController } from '../../release/controller.ts';

/**
 * GET /v1/status: which config version this node serves and the state of its
 * config store: reachable or not, the newest version the store holds, a
 * version this node refused (with its errors, by config path), and with a
 * shared store every live node of the fleet and its version, so drift shows
 * at a glance. `nodes` is null with the file store, or while etcd is down.
 */
export function statusRoutes(app: FastifyInstance, ctx: AdminContext, releases?: ReleaseController): void {
  app.get('/status', async () => {
    const { version, config } = ctx.store.current;
    const store = ctx.store.status();
    let nodes = null;
    if (ctx.store.nodes && store.up) nodes = await ctx.store.nodes().catch(() => null);
    // `releases`: who drives releases (with etcd, the elected node of the fleet; with the file store, this node).
    return { node: { id: config.node.id, region: config.node.region }, version, store, nodes, releases: releases?.driverStatus() ?? null };
  });
}
