import type { Clock } from '../util/clock.ts';
import { systemClock } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import { mathRng } from '../util/rng.ts';
import type { Logger } from '../util/logger.ts';
import { silentLogger } from '../util/logger.ts';
import { isLoopback, parseHostPort } from '../util/address.ts';
import { parseDuration } from '../util/duration.ts';
import type { GossipConfig } from '../config/schema/index.ts';
import type { AgentStateInit } from './agent-state.ts';
import { protocolConfig, type ProfileName, type ProtocolConfig } from './config.ts';
import { Envelope } from './envelope.ts';
import { GossipConfigError, GossipSecurityError } from './errors.ts';
import { Keyring } from './keyring.ts';
import { ReplayWindow } from './replay-window.ts';
import { DEFAULT_GOSSIP_PORT, GOSSIP_DEFAULTS } from './options.ts';
import type { Transport } from './transport.ts';

export { DEFAULT_GOSSIP_PORT } from './options.ts';
/** Declared on the schema field gossip.label (src/config/schema/gossip.ts). */
export const DEFAULT_LABEL = GOSSIP_DEFAULTS.label;

export interface GossipAgentOptions {
  /** The `gossip:` config section. */
  config: GossipConfig;
  nodeId: string;
  region: string;
  clock?: Clock;
  rng?: Rng;
  logger?: Logger;
  /** Defaults to UDP + TCP on config.bind (NetTransport). */
  transport?: Transport;
  /** Protocol constants on top of config.profile (tests and the simulation). */
  protocol?: Partial<ProtocolConfig>;
}

/**
 * Checks an agent's options and applies every default of the `gossip:`
 * section and of the options (clock, randomness, logger, profile, keys,
 * label), in this one place: what the agent's mechanisms share comes out.
 * Refuses a keyless bind on anything but loopback.
 */
export function resolveAgentOptions(opts: GossipAgentOptions): AgentStateInit {
  const { config } = opts;
  if (!config || typeof config !== 'object') throw new GossipConfigError('gossip config is required');
  checkName('nodeId', opts.nodeId);
  checkName('region', opts.region);
  const clock = opts.clock ?? systemClock;
  const rng = opts.rng ?? mathRng;
  const log = (opts.logger ?? silentLogger).child({ component: 'gossip', node: opts.nodeId });
  const protocol = Object.freeze(protocolConfig((config.profile ?? GOSSIP_DEFAULTS.profile) as ProfileName, opts.protocol));

  let bind;
  try {
    bind = parseHostPort(config.bind, DEFAULT_GOSSIP_PORT);
  } catch (err) {
    throw new GossipConfigError(`gossip.bind: ${(err as Error).message}`);
  }
  const keys = config.keys ?? [];
  const keyring = keys.length > 0 ? new Keyring(keys) : undefined;
  if (!keyring && !isLoopback(bind.host)) {
    throw new GossipSecurityError(`refusing to gossip on non-loopback address ${config.bind} without an encryption key (set gossip.keys)`);
  }
  const label = config.label ?? GOSSIP_DEFAULTS.label;
  if (Buffer.byteLength(label) > 255) throw new GossipConfigError('gossip.label must be at most 255 bytes');
  const now = () => clock.wallNow();
  // Replay protection needs authentication: only with keys (a keyless bind is loopback-only).
  const window = keyring ? new ReplayWindow({ now, skewMs: config.maxClockSkew ? parseDuration(config.maxClockSkew) : undefined }) : undefined;
  const envelope = new Envelope(label, keyring, { now, window });
  return { name: opts.nodeId, region: opts.region, config: protocol, clock, rng, log, envelope, keyring, transport: opts.transport };
}

function checkName(what: string, v: unknown): void {
  if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v) > 255) throw new GossipConfigError(`${what} must be a non-empty string of at most 255 bytes`);
}
