import type { FastifyInstance } from 'fastify';
import type { AdminContext } from './context.ts';

/** GET /v1/health: clusters, endpoints, active-check state and ejections (the health module's report). */
export function healthRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get('/health', async () => ctx.healthReport());
}
