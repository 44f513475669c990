import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerAuth } from './auth.ts';
import type { AuditLog } from './audit.ts';
import { AdminHttpError, httpErrorOf } from './errors.ts';
import { ControlError } from '../control/errors.ts';
import { adminMetrics } from './metrics.ts';
import { writeOutcome, authorOf, type AdminContext } from './routes/context.ts';
import { configRoutes } from './routes/config.ts';
import { splitRoutes } from './routes/splits.ts';
import { endpointRoutes } from './routes/endpoints.ts';
import { versionRoutes } from './routes/versions.ts';
import { healthRoutes } from './routes/health.ts';
import { statusRoutes } from './routes/status.ts';
import { releaseRoutes, type ReleaseKind } from './routes/releases.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { uiRoutes } from './routes/ui.ts';
import type { ReleaseController } from '../release/controller.ts';
import type { FleetView } from '../gossip/fleet.ts';
import type { GtmWeightsView } from '../dns/server.ts';

export interface AdminApiOptions extends AdminContext {
  /** The bearer token in force, read per request (a SIGHUP may rotate it); undefined = no token (loopback only). */
  token: () => string | undefined;
  audit: AuditLog;
  clock: { wallNow(): number };
  /** /v1/releases, when the gateway runs a release controller. */
  releases?: ReleaseController;
  /** Other release kinds (`deploy`), served under /v1/releases beside the route releases. */
  releaseKinds?: Record<string, ReleaseKind>;
  /** For the dashboard: effective DNS weights per GTM name (null without `dns`). */
  gtmWeights?: () => GtmWeightsView | null;
  /** For the dashboard: gossip members and region states (null without `gossip`). */
  fleet?: () => FleetView | null;
}

/**
 * The authenticated /v1 API, as a plugin for AdminServer. /v1/fleet belongs
 * to its own module and is registered beside this; /v1/releases (src/release)
 * is registered here, behind the same auth and audit hooks.
 */
export function adminApi(options: AdminApiOptions) {
  return async function registerAdminApi(app: FastifyInstance): Promise<void> {
    // The dashboard's static files hold no data: served without the token (the page asks for it).
    uiRoutes(app);
    await app.register(
      async (v1) => {
        v1.addHook('onRequest', bearerAuth(options.token));
        v1.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
          adminMetrics.requests.labels(req.method, String(reply.statusCode)).inc();
          if (req.method === 'GET' && reply.statusCode !== 401) return;
          const result = writeOutcome.get(req);
          const failure = failures.get(req);
          void options.audit.append({
            at: new Date(options.clock.wallNow()).toISOString(),
            method: req.method,
            url: req.url,
            status: reply.statusCode,
            author: authorOf(req),
            remote: req.ip,
            ...(result ? { version: result.version, changed: result.changed } : {}),
            ...(failure ? { errors: failure } : {}),
          });
        });
        // Remember why a request failed for the audit line; the reply itself is built by server.ts's error handler.
        v1.addHook('onError', async (req: FastifyRequest, _reply: FastifyReply, err: Error) => {
          if (err instanceof AdminHttpError || err instanceof ControlError) failures.set(req, err.issues);
        });
        // Control-plane refusals know their kind, not HTTP: give them their status, then the server's handler answers.
        v1.setErrorHandler((err: Error) => {
          throw err instanceof ControlError ? httpErrorOf(err) : err;
        });
        const ctx: AdminContext = { store: options.store, healthReport: options.healthReport };
        configRoutes(v1, ctx);
        splitRoutes(v1, ctx);
        endpointRoutes(v1, ctx);
        versionRoutes(v1, ctx);
        healthRoutes(v1, ctx);
        statusRoutes(v1, ctx, options.releases);
        if (options.releases) releaseRoutes(v1, options.releases, options.releaseKinds);
        dashboardRoutes(v1, { ...ctx, releases: options.releases, gtmWeights: options.gtmWeights, fleet: options.fleet, token: options.token });
      },
      { prefix: '/v1' },
    );
  };
}

const failures = new WeakMap<FastifyRequest, { path: string; message: string }[]>();
