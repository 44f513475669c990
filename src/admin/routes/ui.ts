import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loadAssets, UI_ROOT, type Asset } from '../ui/static-assets.ts';

/**
 * The page may only talk to the admin listener that served it: no CDN, no
 * inline script, no framing. uPlot sets element styles from script, which
 * style-src does not restrict.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * GET /ui (redirects to /ui/) and GET /ui/<file>: the operator dashboard's
 * static files. Unauthenticated on purpose: they hold no data. Every data call
 * the page makes goes to /v1 with the bearer token (see routes/dashboard.ts).
 * Served with ETags and `no-cache`, so an upgraded gateway never serves a
 * stale page and an unchanged one answers 304.
 */
export function uiRoutes(app: FastifyInstance, assets: Map<string, Asset> = loadAssets()): void {
  const serve = (name: string, req: FastifyRequest, reply: FastifyReply) => {
    const asset = assets.get(name);
    if (!asset) {
      const why = assets.size === 0 ? `the dashboard files are missing (looked in ${UI_ROOT})` : `no such dashboard file: ${name}`;
      return reply.code(404).send({ errors: [{ path: '', message: why }] });
    }
    void reply
      .header('content-type', asset.type)
      .header('etag', asset.etag)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('content-security-policy', CSP);
    if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.send(asset.body);
  };

  // Relative asset and API paths in the page work because it is always loaded as /ui/ (also behind a path-prefixing proxy).
  app.get('/ui', async (_req, reply) => reply.redirect('ui/', 302));
  app.get('/ui/', async (req, reply) => serve('index.html', req, reply));
  app.get<{ Params: { '*': string } }>('/ui/*', async (req, reply) => serve(req.params['*'], req, reply));
}
