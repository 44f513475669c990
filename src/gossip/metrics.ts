import { Counter, Gauge } from 'prom-client';
import { registry } from '../metrics/registry.ts';
import { METRICS, type MetricSpec } from '../metrics/catalogue.ts';

/** Metrics whose values are read from the agents at scrape time (declared once per process). */
function lazyCounter<L extends string>(spec: MetricSpec<L>, collect: (this: Counter<L>) => void): void {
  if (registry.getSingleMetric(spec.name)) return;
  new Counter<L>({ name: spec.name, help: spec.help, labelNames: spec.labels, registers: [registry], collect });
}

function lazyGauge<L extends string>(spec: MetricSpec<L>, collect: (this: Gauge<L>) => void): void {
  if (registry.getSingleMetric(spec.name)) return;
  new Gauge<L>({ name: spec.name, help: spec.help, labelNames: spec.labels, registers: [registry], collect });
}

/**
 * Per-agent counters, kept as plain numbers (the simulation runs thousands of
 * agents in one process and reads them directly); Prometheus sees the sum over
 * the process's agents at scrape time.
 */
export interface GossipStats {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  /** Datagrams larger than UDPBufferSize. */
  droppedOversized: number;
  /** Wrong key, wrong or missing cluster label, tampered ciphertext. */
  droppedAuth: number;
  /** Garbage, truncated, bad CRC, unknown message types. */
  droppedMalformed: number;
  /** Messages superseded by what we know (old incarnation or version): replays end here. */
  droppedStale: number;
  /** Alive messages claiming a live member's name from another address. */
  droppedConflict: number;
  /** Incarnations or versions implausibly far in the future. */
  droppedFuture: number;
  /** Dead messages from the future, downgraded to a suspicion so the member can refute. */
  downgradedDeaths: number;
  /** Pings meant for another member (e.g. an address reused by a new process). */
  droppedMisdirected: number;
  /** Suspect or dead messages about members we never heard of. */
  droppedUnknown: number;
  /** Authenticated messages seen before, or stamped before this member started: replays. */
  droppedReplayed: number;
  /** Authenticated messages stamped further from the local clock than gossip.maxClockSkew. */
  droppedSkew: number;
  /** Inbound push-pull connections closed on accept by gossip.maxConnections or maxConnectionsPerClient. */
  streamsRefused: number;
  /** Inbound push-pull connections closed by their deadline (TCPTimeout). */
  streamsTimedOut: number;
  handlerErrors: number;
  sendErrors: number;
  refutes: number;
  /** Suspicions this agent raised from its own failed probes. */
  suspicionsRaised: number;
  pushPulls: number;
  pushPullFailures: number;
  healthUpdates: number;
}

export function newStats(): GossipStats {
  return {
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    droppedOversized: 0,
    droppedAuth: 0,
    droppedMalformed: 0,
    droppedStale: 0,
    droppedConflict: 0,
    droppedFuture: 0,
    downgradedDeaths: 0,
    droppedMisdirected: 0,
    droppedUnknown: 0,
    droppedReplayed: 0,
    droppedSkew: 0,
    streamsRefused: 0,
    streamsTimedOut: 0,
    handlerErrors: 0,
    sendErrors: 0,
    refutes: 0,
    suspicionsRaised: 0,
    pushPulls: 0,
    pushPullFailures: 0,
    healthUpdates: 0,
  };
}

export interface MetricsSource {
  stats: GossipStats;
  memberCounts(): Record<'alive' | 'suspect' | 'dead' | 'left', number>;
  awarenessScore(): number;
}

const live = new Set<MetricsSource>();
const retired = newStats();

function sum(key: keyof GossipStats): number {
  let v = retired[key];
  for (const s of live) v += s.stats[key];
  return v;
}

const DROP_REASONS: [string, keyof GossipStats][] = [
  ['oversized', 'droppedOversized'],
  ['auth', 'droppedAuth'],
  ['malformed', 'droppedMalformed'],
  ['stale', 'droppedStale'],
  ['conflict', 'droppedConflict'],
  ['future', 'droppedFuture'],
  ['misdirected', 'droppedMisdirected'],
  ['unknown_member', 'droppedUnknown'],
  ['replayed', 'droppedReplayed'],
  ['clock_skew', 'droppedSkew'],
  ['stream_limit', 'streamsRefused'],
  ['stream_deadline', 'streamsTimedOut'],
  ['handler_error', 'handlerErrors'],
];

let declared = false;

function declare(): void {
  if (declared) return;
  declared = true;
  lazyCounter(METRICS.gossipPacketsSentTotal, function () {
    this.reset();
    this.inc(sum('packetsSent'));
  });
  lazyCounter(METRICS.gossipBytesSentTotal, function () {
    this.reset();
    this.inc(sum('bytesSent'));
  });
  lazyCounter(METRICS.gossipPacketsReceivedTotal, function () {
    this.reset();
    this.inc(sum('packetsReceived'));
  });
  lazyCounter(METRICS.gossipDroppedTotal, function () {
    this.reset();
    for (const [reason, key] of DROP_REASONS) this.inc({ reason }, sum(key));
  });
  lazyCounter(METRICS.gossipRefutesTotal, function () {
    this.reset();
    this.inc(sum('refutes'));
  });
  lazyCounter(METRICS.gossipSuspicionsTotal, function () {
    this.reset();
    this.inc(sum('suspicionsRaised'));
  });
  lazyCounter(METRICS.gossipPushPullTotal, function () {
    this.reset();
    this.inc({ result: 'ok' }, sum('pushPulls'));
    this.inc({ result: 'error' }, sum('pushPullFailures'));
  });
  lazyGauge(METRICS.gossipMembers, function () {
    this.reset();
    const totals = { alive: 0, suspect: 0, dead: 0, left: 0 };
    for (const s of live) {
      const c = s.memberCounts();
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += c[k];
    }
    for (const [state, v] of Object.entries(totals)) this.set({ state }, v);
  });
  lazyGauge(METRICS.gossipHealthScore, function () {
    let max = 0;
    for (const s of live) max = Math.max(max, s.awarenessScore());
    this.set(max);
  });
}

export function registerMetricsSource(s: MetricsSource): void {
  declare();
  live.add(s);
}

export function retireMetricsSource(s: MetricsSource): void {
  if (!live.delete(s)) return;
  for (const k of Object.keys(retired) as (keyof GossipStats)[]) retired[k] += s.stats[k];
}
