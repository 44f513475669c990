/**
 * The IPC protocol between the control process and its data-plane workers
 * (node:cluster, JSON over the IPC channel). The control process owns the
 * config store, health, gossip and releases; a worker owns listeners, the
 * proxy and the DNS responder, and only ever learns state through these
 * messages. Every message carries `ep` so the channel can be shared with
 * prom-client's or node:cluster's own messages.
 */
import type { Config } from '../config/schema/index.ts';
import type { RegionStatus } from '../dns/region-view.ts';
import type { BoundListener } from '../edge/listeners.ts';
import type { MetricJson } from '../metrics/fast.ts';

export interface Snapshot {
  version: number;
  config: Config;
}

/** What a worker balances across for one cluster: the control process's ClusterTarget, by address. */
export interface TargetState {
  name: string;
  available: boolean;
  panic: boolean;
  endpoints: string[];
}

/** Run-length encoded outcomes per endpoint: [code, count, code, count, ...] in the order they happened. */
export type OutcomeRuns = number[];

export interface WorkerAddresses {
  listeners: BoundListener[];
  dns: { udp: { address: string; port: number }[]; tcp: { address: string; port: number }[] } | null;
}

// ---- control -> worker ----

export interface InitMessage {
  ep: 'init';
  worker: number;
  workers: number;
  baseDir: string;
  /** 48 bytes, base64: TLS session ticket keys shared by all workers, so a session resumes on any of them. */
  ticketKeys: string;
  snapshot: Snapshot;
  targets: TargetState[];
  regions: [string, RegionStatus][];
}

export interface ApplyMessage {
  ep: 'apply';
  seq: number;
  snapshot: Snapshot;
  /** Targets after the control process applied the same config (new clusters included). */
  targets: TargetState[];
}

export interface TargetsMessage {
  ep: 'targets';
  targets: TargetState[];
}

export interface RemovedMessage {
  ep: 'removed';
  /** [cluster, address] of endpoints that left their cluster: their connection pools drain. */
  endpoints: [string, string][];
}

export interface RegionsMessage {
  ep: 'regions';
  regions: [string, RegionStatus][];
}

export interface MetricsRequest {
  ep: 'metrics';
  seq: number;
}

export interface DrainMessage {
  ep: 'drain';
  timeoutMs: number;
}

export type ToWorker = InitMessage | ApplyMessage | TargetsMessage | RemovedMessage | RegionsMessage | MetricsRequest | DrainMessage;

// ---- worker -> control ----

/** The worker's message handler is installed: the control process may send `init`. */
export interface HelloMessage {
  ep: 'hello';
}

export interface ReadyMessage {
  ep: 'ready';
  version: number;
  addresses: WorkerAddresses;
}

export interface InitFailedMessage {
  ep: 'init-failed';
  error: WireError;
}

export interface AppliedMessage {
  ep: 'applied';
  seq: number;
  version: number;
  error?: WireError;
  addresses?: WorkerAddresses;
}

export interface OutcomesMessage {
  ep: 'outcomes';
  /** [cluster, address, runs] for every endpoint with outcomes since the last batch. */
  batch: [string, string, OutcomeRuns][];
}

/** What /v1/health shows per worker, sent every second while it changes: breaker counters and in-flight requests. */
export interface WorkerStats {
  /** cluster -> breaker snapshot of this worker (its share as limits). */
  breakers: [string, Record<'maxConnections' | 'maxPendingRequests' | 'maxRequests' | 'maxRetries', { current: number; overflows: number }>][];
  /** [cluster, address, requests in flight] for endpoints with any. */
  inFlight: [string, string, number][];
}

export interface StatsMessage {
  ep: 'stats';
  stats: WorkerStats;
}

export interface MetricsReply {
  ep: 'metrics';
  seq: number;
  metrics: MetricJson[];
}

export interface DrainedMessage {
  ep: 'drained';
  unfinished: number;
}

export type FromWorker = HelloMessage | StatsMessage | ReadyMessage | InitFailedMessage | AppliedMessage | OutcomesMessage | MetricsReply | DrainedMessage;

/** An error crossing the IPC channel: message, code and config issues survive, the class does not. */
export interface WireError {
  message: string;
  code?: string;
  issues?: { path: string; message: string; line?: number }[];
}

export function toWire(err: unknown): WireError {
  const e = err as Error & { code?: string; issues?: WireError['issues'] };
  return { message: e?.message ?? String(err), ...(e?.code ? { code: e.code } : {}), ...(e?.issues ? { issues: e.issues } : {}) };
}

export function isEdgeplaneMessage(m: unknown): m is { ep: string } {
  return typeof m === 'object' && m !== null && typeof (m as { ep?: unknown }).ep === 'string';
}
