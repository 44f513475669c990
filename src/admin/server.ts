import Fastify, { type FastifyInstance } from 'fastify';
import type { AdminConfig } from '../config/schema/index.ts';
import type { Logger } from '../util/logger.ts';
import { parseHostPort, isLoopback } from '../util/address.ts';
import { registry } from '../metrics/registry.ts';
import { EdgeplaneError } from '../util/errors.ts';

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
    const address = options.config?.address ?? '127.0.0.1:9901';
    const { host, port } = parseHostPort(address);
    if (!isLoopback(host) && !options.config?.token) {
      throw new AdminConfigError(`admin.address ${address} is not a loopback address: set admin.token to expose the admin API`);
    }
    this.#host = host;
    this.#port = port;
    // fastify logs every admin request at info; keep the admin listener's own logs to warnings and above.
    const logger = options.logger.child({ component: 'admin' }, { level: 'warn' });
    this.app = Fastify({ loggerInstance: logger, bodyLimit: 1024 * 1024 }) as unknown as FastifyInstance;
    this.app.get('/healthz', async () => ({ status: 'alive' }));
    this.app.get('/readyz', async (_req, reply) => {
      const ready = options.isReady();
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready' });
    });
    this.app.get('/metrics', async (_req, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    });
    for (const plugin of options.plugins ?? []) void this.app.register(async (instance) => plugin(instance));
  }

  async start(): Promise<{ address: string; port: number }> {
    await this.app.listen({ host: this.#host, port: this.#port });
    const a = this.app.server.address();
    return a && typeof a === 'object' ? { address: a.address, port: a.port } : { address: this.#host, port: this.#port };
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
