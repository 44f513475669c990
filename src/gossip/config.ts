import { GossipConfigError } from './errors.ts';

/**
 * The protocol's constants, named as hashicorp/memberlist names them so that
 * its documentation and the Lifeguard paper apply directly. All durations are
 * milliseconds. See docs/gossip.md for what each one does to the protocol.
 */
export interface ProtocolConfig {
  /** Time between failure probes of one random member (round-robin order). */
  ProbeInterval: number;
  /** How long to wait for a direct ack before asking IndirectChecks members to probe. */
  ProbeTimeout: number;
  /** Time between gossip rounds that send pending broadcasts. */
  GossipInterval: number;
  /** Members a gossip round sends to. */
  GossipNodes: number;
  /** Dead members keep receiving gossip this long (so they learn and refute), then are reaped. */
  GossipToTheDeadTime: number;
  /** Suspicion timeout = SuspicionMult x max(1, log10 n) x ProbeInterval (the minimum). */
  SuspicionMult: number;
  /** Maximum suspicion timeout, as a multiple of the minimum (Lifeguard: shrinks with confirmations). */
  SuspicionMaxTimeoutMult: number;
  /** A broadcast is retransmitted RetransmitMult x ceil(log10(n+1)) times. */
  RetransmitMult: number;
  /** Full state sync with one random member over a stream (TCP); 0 disables. Scaled up above 32 members. */
  PushPullInterval: number;
  /** Members asked to probe on our behalf when the direct probe times out. */
  IndirectChecks: number;
  /** Lifeguard local health: probe interval and timeout are scaled by (score + 1), score < this. */
  AwarenessMaxMultiplier: number;
  /** Stream (push-pull) connect + exchange deadline. */
  TCPTimeout: number;
  /** No datagram larger than this is sent, and none larger is accepted. */
  UDPBufferSize: number;
  /** A dead member's name may be taken by a new address after this long; 0 = never (memberlist default). */
  DeadNodeReclaimTime: number;
  /**
   * Lifeguard (local health awareness, nacks, dynamic suspicion timeout, buddy
   * system). Always on in production; the switch exists for the simulation that
   * measures what Lifeguard buys.
   */
  Lifeguard: boolean;
  /**
   * Share of each datagram's spare room reserved for health broadcasts while both
   * queues have something to send, so that membership churn cannot starve health
   * dissemination (memberlist#299). Unused room goes to the other queue.
   */
  HealthShare: number;
  /**
   * A message about a known member whose incarnation jumps further than this
   * ahead of what we know is implausible (forged or corrupted) and is dropped.
   */
  MaxIncarnationJump: number;
  /**
   * How long dead and left members are remembered after they leave the
   * rotation (serf's TombstoneTimeout / ReconnectTimeout, 24h), so that a
   * region whose gateways all died stays down instead of becoming unknown.
   */
  TombstoneTimeout: number;
  /**
   * serf's ReconnectInterval: this often, with probability dead/alive, push-pull
   * with a random dead member, so two sides of a healed partition find each
   * other again (memberlist alone never contacts a member it declared dead
   * once GossipToTheDeadTime is over). 0 disables.
   */
  ReconnectInterval: number;
}

export type ProfileName = 'lan' | 'wan' | 'local';

const common = {
  UDPBufferSize: 1400,
  DeadNodeReclaimTime: 0,
  Lifeguard: true,
  HealthShare: 0.5,
  MaxIncarnationJump: 1 << 20,
  TombstoneTimeout: 24 * 3_600_000,
  ReconnectInterval: 30_000,
} as const;

/** memberlist DefaultLANConfig. */
export const LAN: Readonly<ProtocolConfig> = Object.freeze({
  ...common,
  ProbeInterval: 1000,
  ProbeTimeout: 500,
  GossipInterval: 200,
  GossipNodes: 3,
  GossipToTheDeadTime: 30_000,
  SuspicionMult: 4,
  SuspicionMaxTimeoutMult: 6,
  RetransmitMult: 4,
  PushPullInterval: 30_000,
  IndirectChecks: 3,
  AwarenessMaxMultiplier: 8,
  TCPTimeout: 10_000,
});

/** memberlist DefaultWANConfig: DefaultLANConfig with these changes. */
export const WAN: Readonly<ProtocolConfig> = Object.freeze({
  ...LAN,
  TCPTimeout: 30_000,
  SuspicionMult: 6,
  PushPullInterval: 60_000,
  ProbeTimeout: 3000,
  ProbeInterval: 5000,
  GossipNodes: 4,
  GossipInterval: 500,
  GossipToTheDeadTime: 60_000,
});

/**
 * Fast profile for tests on one machine: 5x faster probing than LAN, with a
 * larger SuspicionMult so a process paused by a loaded CI machine still has
 * time (>= 1s) to refute before it is declared dead.
 */
export const LOCAL: Readonly<ProtocolConfig> = Object.freeze({
  ...LAN,
  ProbeInterval: 200,
  ProbeTimeout: 100,
  GossipInterval: 50,
  GossipNodes: 3,
  GossipToTheDeadTime: 3000,
  SuspicionMult: 5,
  SuspicionMaxTimeoutMult: 4,
  RetransmitMult: 3,
  PushPullInterval: 3000,
  IndirectChecks: 2,
  TCPTimeout: 2000,
  ReconnectInterval: 2000,
});

export const PROFILES: Readonly<Record<ProfileName, Readonly<ProtocolConfig>>> = Object.freeze({ lan: LAN, wan: WAN, local: LOCAL });

/** Returns a validated copy of `profile` with `overrides` applied. */
export function protocolConfig(profile: ProfileName | ProtocolConfig = 'lan', overrides: Partial<ProtocolConfig> = {}): ProtocolConfig {
  const base = typeof profile === 'string' ? PROFILES[profile] : profile;
  if (!base) throw new GossipConfigError(`unknown gossip profile ${JSON.stringify(profile)} (use lan, wan or local)`);
  const c: ProtocolConfig = { ...base, ...overrides };
  validateProtocolConfig(c);
  return c;
}

export function validateProtocolConfig(c: ProtocolConfig): void {
  const positive: (keyof ProtocolConfig)[] = ['ProbeInterval', 'ProbeTimeout', 'GossipInterval', 'TCPTimeout', 'SuspicionMult', 'SuspicionMaxTimeoutMult', 'RetransmitMult', 'AwarenessMaxMultiplier'];
  for (const k of positive) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new GossipConfigError(`${k} must be a positive number, got ${String(v)}`);
  }
  const nonNegativeInts: (keyof ProtocolConfig)[] = ['GossipNodes', 'IndirectChecks', 'PushPullInterval', 'GossipToTheDeadTime', 'DeadNodeReclaimTime', 'MaxIncarnationJump', 'TombstoneTimeout', 'ReconnectInterval'];
  for (const k of nonNegativeInts) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new GossipConfigError(`${k} must be a non-negative integer, got ${String(v)}`);
  }
  if (c.ProbeTimeout > c.ProbeInterval) throw new GossipConfigError(`ProbeTimeout (${c.ProbeTimeout}ms) must not exceed ProbeInterval (${c.ProbeInterval}ms)`);
  if (!Number.isInteger(c.AwarenessMaxMultiplier)) throw new GossipConfigError('AwarenessMaxMultiplier must be an integer');
  if (!Number.isInteger(c.UDPBufferSize) || c.UDPBufferSize < 512 || c.UDPBufferSize > 65_000) {
    throw new GossipConfigError(`UDPBufferSize must be an integer in 512..65000, got ${String(c.UDPBufferSize)}`);
  }
  if (!(c.HealthShare >= 0 && c.HealthShare <= 1)) throw new GossipConfigError(`HealthShare must be within 0..1, got ${String(c.HealthShare)}`);
  if (typeof c.Lifeguard !== 'boolean') throw new GossipConfigError('Lifeguard must be a boolean');
}

/** memberlist suspicionTimeout: the minimum suspicion timeout for a cluster of n members. */
export function suspicionTimeout(suspicionMult: number, n: number, interval: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  return Math.floor((suspicionMult * Math.floor(nodeScale * 1000) * interval) / 1000);
}

/** memberlist retransmitLimit: how many times one broadcast is sent. */
export function retransmitLimit(retransmitMult: number, n: number): number {
  return retransmitMult * Math.ceil(Math.log10(n + 1));
}

const PUSH_PULL_SCALE_THRESHOLD = 32;

/** memberlist pushPullScale: push-pull slows down above 32 members so its total cost grows like n log n, not n^2. */
export function pushPullScale(interval: number, n: number): number {
  if (n <= PUSH_PULL_SCALE_THRESHOLD) return interval;
  const multiplier = Math.ceil(Math.log2(n) - Math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1;
  return interval * multiplier;
}
