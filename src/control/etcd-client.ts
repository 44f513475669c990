import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Etcd3, isRecoverableError, type IOptions } from 'etcd3';
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, noop, type IBackoff } from 'cockatiel';
import type { EtcdStoreConfig } from '../config/schema/index.ts';
import { parseDuration } from '../util/duration.ts';
import { EtcdStore } from '../config/schema/store.ts';
import { defaultsOf } from '../config/schema/defaults.ts';

/** The etcd store's timings, resolved once from `store.etcd` (durations in ms). */
export interface EtcdSettings {
  endpoints: string[];
  prefix: string;
  dialTimeoutMs: number;
  requestTimeoutMs: number;
  leaseTtlMs: number;
  keepaliveIntervalMs: number;
  keepaliveTimeoutMs: number;
  probeIntervalMs: number;
}

const D = defaultsOf(EtcdStore, ['dialTimeout', 'requestTimeout', 'leaseTtl', 'keepaliveInterval', 'keepaliveTimeout', 'probeInterval']);

/** Defaults are declared on the schema fields (src/config/schema/store.ts). */
export function etcdSettings(c: EtcdStoreConfig): EtcdSettings {
  return {
    endpoints: c.endpoints.map((e) => e.replace(/\/$/, '')),
    prefix: c.prefix.replace(/\/+$/, ''),
    dialTimeoutMs: parseDuration(c.dialTimeout ?? D.dialTimeout),
    requestTimeoutMs: parseDuration(c.requestTimeout ?? D.requestTimeout),
    leaseTtlMs: parseDuration(c.leaseTtl ?? D.leaseTtl),
    keepaliveIntervalMs: parseDuration(c.keepaliveInterval ?? D.keepaliveInterval),
    keepaliveTimeoutMs: parseDuration(c.keepaliveTimeout ?? D.keepaliveTimeout),
    probeIntervalMs: parseDuration(c.probeInterval ?? D.probeInterval),
  };
}

/** The longest pause before a broken watch stream is dialled again. */
export const WATCH_BACKOFF_MAX_MS = 1000;
/** How long a member's circuit stays open after consecutive failures before one call may try it again. */
export const BREAKER_HALF_OPEN_MS = 300;

/**
 * The etcd3 client options, chosen against what the stock ones do to a
 * gateway (measured against etcd 3.4):
 *  - gRPC keepalive: without it a watch stays silent through a partition that
 *    drops packets without a reset, and the node never learns it is stale;
 *  - no global retry policy: the stock one retries any call three times,
 *    including a put whose first attempt may already be stored; this store
 *    resolves an ambiguous write by reading it back instead (etcd-store.ts);
 *  - a short per-member circuit breaker: the stock one blocks every call to a
 *    member for 5 s after 3 failures, i.e. writes answer 503 for seconds
 *    after an etcd leader change that took 0.6 s;
 *  - watch reconnect backoff capped at 1 s (stock: up to 30 s), which was
 *    3-9 s of staleness after an outage.
 * Exported so a test can check these are what the client really gets.
 */
export function etcdClientOptions(c: EtcdStoreConfig, baseDir: string): IOptions {
  const s = etcdSettings(c);
  const options: IOptions = {
    hosts: s.endpoints,
    dialTimeout: s.dialTimeoutMs,
    grpcOptions: {
      'grpc.keepalive_time_ms': s.keepaliveIntervalMs,
      'grpc.keepalive_timeout_ms': s.keepaliveTimeoutMs,
      'grpc.keepalive_permit_without_calls': 1,
      // Redial a lost member quickly instead of gRPC's default 1 s → 120 s backoff.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': WATCH_BACKOFF_MAX_MS,
    },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + s.requestTimeoutMs }),
    faultHandling: {
      global: noop,
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: BREAKER_HALF_OPEN_MS, breaker: new ConsecutiveBreaker(3) }),
      // etcd3 calls next() on this before its first use, so the factory is what it wants (its type says IBackoff).
      watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: WATCH_BACKOFF_MAX_MS }) as unknown as IBackoff<unknown>,
    },
  };
  if (c.tls) {
    options.credentials = {
      rootCertificate: readFileSync(resolve(baseDir, c.tls.ca)),
      ...(c.tls.cert ? { certChain: readFileSync(resolve(baseDir, c.tls.cert)) } : {}),
      ...(c.tls.key ? { privateKey: readFileSync(resolve(baseDir, c.tls.key)) } : {}),
    };
  }
  if (c.username) options.auth = { username: c.username, password: c.password ?? '' };
  return options;
}

export function createEtcdClient(c: EtcdStoreConfig, baseDir: string): Etcd3 {
  return new Etcd3(etcdClientOptions(c, baseDir));
}
