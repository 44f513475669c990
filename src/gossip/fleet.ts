import type { MemberState } from './codec.ts';
import type { GossipAgent } from './agent.ts';
import type { RegionAggregator, RegionSummary } from './aggregator.ts';

export interface FleetMember {
  name: string;
  address: string;
  region: string;
  state: MemberState;
  incarnation: number;
  self: boolean;
  /** ms since the last sign of life; null when never heard first-hand. */
  lastHeardMs: number | null;
  /** ms since the last state change. */
  stateAgeMs: number;
  health: { state: 'up' | 'degraded' | 'down'; healthy: number; names: Record<string, number>; version: number; /** zone -> DNSKEY-set fingerprint, when the member serves zones */ keysets?: Record<string, string> } | null;
}

export interface FleetView {
  self: { name: string; region: string; address: string; incarnation: number; healthScore: number; members: number };
  members: FleetMember[];
  regions: RegionSummary[];
}

/** The data behind GET /v1/fleet; the caller adds the DNS effective weights (DnsServer.gtmWeights()). */
export function fleetView(agent: GossipAgent, aggregator: RegionAggregator): FleetView {
  const members = agent
    .members()
    .map<FleetMember>((m) => ({
      name: m.name,
      address: m.addr,
      region: m.region,
      state: m.state,
      incarnation: m.incarnation,
      self: m.self,
      lastHeardMs: m.lastHeardAgo === undefined ? null : Math.round(m.lastHeardAgo),
      stateAgeMs: Math.round(m.stateAge),
      health: m.health ? { state: m.health.state, healthy: m.health.healthy, names: { ...m.health.names }, version: m.healthVersion ?? 0, ...(m.health.keysets ? { keysets: { ...m.health.keysets } } : {}) } : null,
    }))
    .sort((a, b) => (a.region === b.region ? (a.name < b.name ? -1 : 1) : a.region < b.region ? -1 : 1));
  return {
    self: { name: agent.name, region: agent.region, address: agent.address, incarnation: agent.incarnation, healthScore: agent.awarenessScore(), members: agent.numMembers },
    members,
    regions: aggregator.regions(),
  };
}
