import Fastify, { type FastifyInstance } from 'fastify';
import type { AdminConfig } from '../config/schema/index.ts';
import type { Logger } from '../util/logger.ts';
import { parseHostPort, isLoopback } from '../util/address.ts';
import { metricsView } from '../metrics/registry.ts';
import { EdgeplaneError } from '../util/errors.ts';
import { AdminHttpError, BodyTooLargeError, MalformedBodyError } from './errors.ts';
import { JSON_MEDIA_TYPE, UnsupportedMediaTypeError, requestGuard } from './request-guard.ts';
import { redactUrl } from './audit.ts';
import { adminAddressOf } from './options.ts';

/** Admin bodies are configs and small edits; anything bigger is refused with 413 before it is parsed. */
export const ADMIN_BODY_LIMIT = 1024 * 1024;

export class AdminConfigError extends EdgeplaneError {
  constructor(message: string) {
    super('EP_ADMIN_INSECURE', message);
  }
}

export interface AdminServerOptions {
  config: AdminConfig | undefined;
  logger: Logger;
  /** true while the gateway serves and is not draining (keepalived's check). */
  isReady: () => boolean;
  /** Registers the authenticated /v1 API and anything else on the fastify instance. */
  plugins?: ((app: FastifyInstance) => void | Promise<void>)[];
}

/**
 * The admin listener (fastify). Unauthenticated: /healthz, /readyz, /metrics.
 * Refuses a non-loopback address without a token.
 */
export class AdminServer {
  readonly app: FastifyInstance;
  readonly #host: string;
  readonly #port: number;

  constructor(options: AdminServerOptions) {
    const address = adminAddressOf(options.config);
    const { host, port } = parseHostPort(address);
    if (!isLoopback(host) && !options.config?.token) {
      throw new AdminConfigError(`admin.address ${address} is not a loopback address: set admin.token to expose the admin API`);
    }
    this.#host = host;
    this.#port = port;
    // fastify logs every admin request at info; keep the admin listener's own logs to warnings and above.
    const logger = options.logger.child({ component: 'admin' }, { level: 'warn' });
    this.app = Fastify({ loggerInstance: logger, bodyLimit: ADMIN_BODY_LIMIT }) as unknown as FastifyInstance;
    // Host, Origin and Sec-Fetch-Site before anything else (DNS rebinding, CSRF): see request-guard.ts.
    this.app.addHook('onRequest', requestGuard({ allowedHosts: options.config?.allowedHosts ?? [], ownHost: host }));
    // Bodies must be declared JSON (a browser can send any other type cross-site without a
    // preflight), and every error, 401, 413, 415 and 404 included, answers {errors:[{path,message}]}.
    this.app.removeAllContentTypeParsers();
    this.app.addContentTypeParser(JSON_MEDIA_TYPE, { parseAs: 'string' }, (_req, body, done) => {
      const text = String(body);
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch (err) {
        done(new MalformedBodyError((err as Error).message), undefined);
      }
    });
    this.app.addContentTypeParser('*', (req, _payload, done) => done(new UnsupportedMediaTypeError(req.headers['content-type']), undefined));
    this.app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
      if (err instanceof AdminHttpError) {
        if (err.statusCode === 401) void reply.header('www-authenticate', 'Bearer realm="edgeplane-admin"');
        return reply.code(err.statusCode).send({ errors: err.issues });
      }
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ errors: new BodyTooLargeError(ADMIN_BODY_LIMIT).issues });
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status === 500) logger.error({ err, url: redactUrl(req.url), method: req.method }, 'admin request failed');
      return reply.code(status).send({ errors: [{ path: '', message: status === 500 ? 'internal error (see the gateway log)' : err.message }] });
    });
    this.app.setNotFoundHandler((req, reply) => reply.code(404).send({ errors: [{ path: '', message: `no such admin endpoint: ${req.method} ${req.url.split('?')[0]}` }] }));
    this.app.get('/healthz', async () => ({ status: 'alive' }));
    this.app.get('/readyz', async (_req, reply) => {
      const ready = options.isReady();
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready' });
    });
    this.app.get('/metrics', async (_req, reply) => {
      // This process's registry, or in a multi-worker gateway the sum over its workers.
      const source = await metricsView();
      const text = await source.metrics();
      return reply.type(source.contentType).send(text);
    });
    for (const plugin of options.plugins ?? []) void this.app.register(async (instance) => plugin(instance));
  }

  async start(): Promise<{ address: string; port: number }> {
    await this.app.listen({ host: this.#host, port: this.#port });
    const a = this.app.server.address();
    return a && typeof a === 'object' ? { address: a.address, port: a.port } : { address: this.#host, port: this.#port };
  }

  async close(): Promise<void> {
    // fastify closes only idle connections; one that turns idle later (a stream ended by a
    // preClose hook, a keep-alive client) would hold shutdown for the keep-alive timeout.
    const force = setTimeout(() => this.app.server.closeAllConnections(), 1000);
    force.unref();
    try {
      await this.app.close();
    } finally {
      clearTimeout(force);
    }
  }
}
