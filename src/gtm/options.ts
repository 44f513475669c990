import { Gossip } from '../config/schema/gossip.ts';
import { defaultsOf } from '../config/schema/defaults.ts';

/** The `gossip` section's defaults, declared on the schema fields (src/config/schema/gossip.ts). */
export const GOSSIP_DEFAULTS = defaultsOf(Gossip, ['profile', 'label', 'maxClockSkew', 'maxConnections', 'maxConnectionsPerClient']);
