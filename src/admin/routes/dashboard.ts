import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tokensEqual } from '../auth.ts';
import { DashboardFeed } from '../ui/dashboard-feed.ts';
import type { DashboardSources } from '../ui/dashboard-state.ts';
import { EventStream } from '../ui/event-stream.ts';
import { TrafficHistory } from '../ui/traffic-history.ts';

export interface DashboardRouteOptions extends DashboardSources {
  /** The bearer token in force (read per tick: a stream opened with a rotated-away token is closed). */
  token: () => string | undefined;
  /** Overrides for tests; the defaults suit an operator's page. */
  history?: TrafficHistory;
  tickMs?: number;
}

/** Open streams per admin listener; each costs a socket and one JSON encoding per tick. */
const MAX_STREAMS = 32;
const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

/**
 * The operator dashboard's data (the page itself is served by routes/ui.ts):
 *   GET /v1/dashboard         everything the page shows, in one answer: node, config
 *                             version and history, routes with their splits, endpoint
 *                             health, fleet (gossip) and DNS weights, releases, and the
 *                             last minutes of per-route/cluster traffic samples;
 *   GET /v1/dashboard/events  the same as server-sent events (see DashboardFeed for
 *                             the events), so the page stays live without polling.
 *
 * Both sit behind the /v1 bearer check like every other data call. The page
 * reads the stream with fetch() and a ReadableStream rather than EventSource,
 * because EventSource cannot send an Authorization header: the token would
 * have to travel in the URL, where access logs, proxies and browser history
 * keep it. The page reconnects on its own when the stream ends.
 */
export function dashboardRoutes(app: FastifyInstance, options: DashboardRouteOptions): void {
  const history = options.history ?? new TrafficHistory();
  const feed = new DashboardFeed(options, history, options.tickMs !== undefined ? { tickMs: options.tickMs } : {});
  history.start();
  // preClose runs before the server waits for open connections: a stream left open would hold shutdown up.
  app.addHook('preClose', async () => {
    feed.close('gateway shutting down');
    history.stop();
  });

  app.get('/dashboard', async (_req, reply) => {
    void reply.header('cache-control', 'no-store');
    return feed.body();
  });

  app.get('/dashboard/events', async (req: FastifyRequest, reply: FastifyReply) => {
    if (feed.size >= MAX_STREAMS) {
      return reply.code(503).header('retry-after', '5').send({ errors: [{ path: '', message: `too many open dashboard streams (${MAX_STREAMS}); close a tab or poll GET /v1/dashboard` }] });
    }
    const presented = BEARER.exec(req.headers.authorization ?? '')?.[1];
    const authorized = () => {
      const expected = options.token();
      return !expected || (presented !== undefined && tokensEqual(presented, expected));
    };
    reply.hijack();
    const stream = new EventStream(reply.raw, 2000);
    feed.subscribe(stream, authorized);
  });
}
