import { Gossip } from '../config/schema/gossip.ts';
import { defaultsOf } from '../config/schema/defaults.ts';

/** The port of a gossip address written without one (bind, advertise, seeds), as in memberlist. */
export const DEFAULT_GOSSIP_PORT = 7946;

/** The `gossip` section's defaults, declared on the schema fields (src/config/schema/gossip.ts). */
export const GOSSIP_DEFAULTS = defaultsOf(Gossip, ['profile', 'label', 'maxClockSkew', 'maxConnections', 'maxConnectionsPerClient']);
