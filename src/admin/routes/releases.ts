import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ReleaseController } from '../../release/controller.ts';
import { AdminRejectedError } from '../errors.ts';
import { authorOf, bodyObject } from './context.ts';

type IdReq = FastifyRequest<{ Params: { id: string } }>;

/** Another kind of release (`{kind: "deploy", ...}`), run by its own module and addressed by its own ids. */
export interface ReleaseKind {
  start(body: unknown, author: string): Promise<unknown>;
  owns(id: string): boolean;
  get(id: string): unknown;
  list(): unknown[];
  abort(id: string, author: string): Promise<unknown>;
}

/**
 * Releases (src/release): start, status, and the operator's controls.
 *   POST /v1/releases                 {route, to, strategy, ...} → 201 with the release
 *   GET  /v1/releases                 → {releases: [...]} running first, then finished
 *   GET  /v1/releases/:id             → phase, weights, gate readings, history
 *   POST /v1/releases/:id/promote     {full?: boolean} skip the rest of this window (full: all steps)
 *   POST /v1/releases/:id/abort       roll back to the previous split now
 *   POST /v1/releases/:id/pause       hold the weights; no gates, no steps
 *   POST /v1/releases/:id/resume      carry on with a fresh window
 * Writes answer the release as it is after the action.
 */
export function releaseRoutes(app: FastifyInstance, releases: ReleaseController, kinds: Record<string, ReleaseKind> = {}): void {
  const owner = (id: string) => Object.values(kinds).find((k) => k.owns(id));
  app.post('/releases', async (req, reply) => {
    const kindName = (req.body as { kind?: unknown } | null)?.kind;
    if (kindName !== undefined && kindName !== 'route') {
      const kind = typeof kindName === 'string' ? kinds[kindName] : undefined;
      if (!kind) throw new AdminRejectedError([{ path: 'kind', message: `unknown release kind ${JSON.stringify(kindName)} (known: route${Object.keys(kinds).map((k) => `, ${k}`).join('')})` }]);
      const view = (await kind.start(req.body, authorOf(req))) as { id: string };
      void reply.code(201).header('location', `/v1/releases/${view.id}`);
      return view;
    }
    const view = await releases.start(req.body, authorOf(req));
    void reply.code(201).header('location', `/v1/releases/${view.id}`);
    return view;
  });

  app.get('/releases', async () => ({ releases: releases.list(), ...Object.fromEntries(Object.entries(kinds).map(([name, k]) => [`${name}s`, k.list()])) }));

  app.get('/releases/:id', async (req: IdReq) => owner(req.params.id)?.get(req.params.id) ?? releases.get(req.params.id));

  app.post('/releases/:id/promote', async (req: IdReq) => {
    const body = req.body === undefined ? {} : bodyObject(req.body, [], ['full']);
    if (body.full !== undefined && typeof body.full !== 'boolean') throw new AdminRejectedError([{ path: 'full', message: 'must be true or false' }]);
    return releases.promote(req.params.id, authorOf(req), body.full === true);
  });

  const action = (name: 'abort' | 'pause' | 'resume') =>
    app.post(`/releases/:id/${name}`, async (req: IdReq) => {
      if (req.body !== undefined) bodyObject(req.body, []);
      const kind = owner(req.params.id);
      if (kind && name === 'abort') return kind.abort(req.params.id, authorOf(req));
      return releases[name](req.params.id, authorOf(req));
    });
  action('abort');
  action('pause');
  action('resume');
}
