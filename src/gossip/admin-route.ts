import type { FastifyInstance } from 'fastify';
import { bearerAuth } from '../admin/auth.ts';
import type { Fleet } from './fleet-service.ts';

export interface FleetApiOptions {
  /** The running fleet, or null when the config has no `gossip` section. */
  fleet: () => Fleet | null;
  /** This gateway's node id and region (shown without gossip too). */
  node: () => { id: string; region: string };
  /** Effective DNS weights per GTM name (DnsServer.gtmWeights()), or null without DNS. */
  dnsWeights: () => unknown[] | null;
  /** The admin bearer token in force (read per request). */
  token: () => string | undefined;
}

/**
 * GET /v1/fleet: gossip members (state, incarnation, last heard), region
 * states and the effective DNS weights per GTM name. An AdminServer plugin,
 * behind the same bearer token as the rest of /v1.
 */
export function fleetApi(options: FleetApiOptions) {
  return async function registerFleetApi(app: FastifyInstance): Promise<void> {
    await app.register(
      async (v1) => {
        v1.addHook('onRequest', bearerAuth(options.token));
        v1.get('/fleet', async () => {
          const fleet = options.fleet();
          const dns = options.dnsWeights() ?? [];
          if (!fleet) {
            const node = options.node();
            return { gossip: false, self: { name: node.id, region: node.region }, members: [], regions: [], dns };
          }
          return { gossip: true, ...fleet.view(), dns };
        });
      },
      { prefix: '/v1' },
    );
  };
}
