import { getServers } from 'node:dns';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import type { Logger } from '../util/logger.ts';
import { formatHostPort, parseHostPort } from '../util/address.ts';
import { QTYPE, query, rcodeName, type DnsResponse, type DnsServer, type QueryType, type SrvData } from './dns-client.ts';
import { DiscoveryError } from './errors.ts';
import { SourceState, backoff } from './status.ts';
import type { DiscoveryListener, DiscoverySource, DiscoveryStatus } from './types.ts';

export interface Resolution {
  addresses: string[];
  /** Smallest TTL of the records used, seconds. */
  ttl: number;
}

export type Resolver = (name: string, type: QueryType, port: number | undefined) => Promise<Resolution>;

export interface DnsSourceOptions {
  cluster: string;
  name: string;
  type: QueryType;
  port: number | undefined;
  minIntervalMs: number;
  maxIntervalMs: number;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  /** Replaces the wire resolver (tests of the scheduling). */
  resolver: Resolver;
}

/**
 * DNS discovery (a Kubernetes headless Service, Consul, any zone): A/AAAA
 * records plus the configured port, or SRV records with their own ports.
 * The name is re-resolved when the answer's TTL runs out, kept within
 * [minInterval, maxInterval] so a TTL of 0 does not hammer the server and a
 * TTL of a day does not freeze the set. A failed or empty resolution keeps the
 * last set and retries with backoff.
 */
export class DnsSource implements DiscoverySource {
  readonly kind = 'dns' as const;
  readonly #o: DnsSourceOptions;
  readonly #state: SourceState;
  #timer: TimerHandle | undefined;
  #stopped = true;
  #generation = 0;

  constructor(options: DnsSourceOptions) {
    if (options.type !== 'SRV' && options.port === undefined) {
      throw new DiscoveryError('EP_DISCOVERY_OPTIONS', `discovery.dns for ${options.name}: type ${options.type} needs a port`);
    }
    if (options.minIntervalMs > options.maxIntervalMs) throw new DiscoveryError('EP_DISCOVERY_OPTIONS', 'discovery.dns: minInterval must not exceed maxInterval');
    this.#o = options;
    this.#state = new SourceState(options.cluster, 'dns', options.clock, options.logger);
  }

  start(listener: DiscoveryListener): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#state.attach(listener);
    this.#resolve();
  }

  stop(): void {
    this.#stopped = true;
    this.#generation++;
    this.#o.clock.clearTimeout(this.#timer);
    this.#state.attach(undefined);
    this.#state.dispose();
  }

  status(): DiscoveryStatus {
    return this.#state.status();
  }

  #resolve(): void {
    const generation = ++this.#generation;
    const o = this.#o;
    o.resolver(o.name, o.type, o.port).then(
      (r) => {
        if (generation !== this.#generation || this.#stopped) return;
        if (r.addresses.length === 0) return this.#fail(new DiscoveryError('EP_DISCOVERY_DNS_EMPTY', `${o.name} ${o.type}: no records`));
        this.#state.succeeded(r.addresses);
        this.#schedule(Math.min(o.maxIntervalMs, Math.max(o.minIntervalMs, r.ttl * 1000)));
      },
      (err: unknown) => {
        if (generation !== this.#generation || this.#stopped) return;
        this.#fail(err);
      },
    );
  }

  #fail(err: unknown): void {
    this.#state.failed(err);
    const attempt = this.#state.status().consecutiveFailures - 1;
    this.#schedule(backoff(attempt, Math.min(1000, this.#o.minIntervalMs), this.#o.maxIntervalMs, this.#o.rng.next()));
  }

  #schedule(ms: number): void {
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = this.#o.clock.setTimeout(() => this.#resolve(), ms);
  }
}

/** Resolver servers from config (`ip` or `ip:port`), else the system's (/etc/resolv.conf). */
export function resolverServers(configured: readonly string[] | undefined): DnsServer[] {
  const list = configured && configured.length > 0 ? configured : getServers();
  return list.map((s) => parseHostPort(s, 53));
}

/** The wire resolver: asks the servers in order until one gives an authoritative-enough answer. */
export function wireResolver(servers: readonly DnsServer[], timeoutMs: number): Resolver {
  if (servers.length === 0) throw new DiscoveryError('EP_DISCOVERY_OPTIONS', 'no DNS resolvers configured and none found in the system configuration');
  const ask = async (name: string, type: QueryType): Promise<DnsResponse> => {
    let last: unknown;
    for (const server of servers) {
      try {
        const res = await query(server, name, type, timeoutMs);
        // SERVFAIL / REFUSED: this server cannot help; another one might.
        if (res.rcode === 2 || res.rcode === 5) {
          last = new DiscoveryError('EP_DISCOVERY_DNS', `${name} ${type}: ${rcodeName(res.rcode)} from ${server.host}:${server.port}`);
          continue;
        }
        return res;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };

  return async (name, type, port) => {
    const res = await ask(name, type);
    if (res.rcode !== 0) throw new DiscoveryError(res.rcode === 3 ? 'EP_DISCOVERY_DNS_EMPTY' : 'EP_DISCOVERY_DNS', `${name} ${type}: ${rcodeName(res.rcode)}`);
    if (type !== 'SRV') {
      const { values, ttl } = addressRecords(res, name, QTYPE[type]);
      return { addresses: values.map((host) => formatHostPort({ host, port: port! })), ttl };
    }
    return resolveSrv(res, name, ask);
  };
}

/** A/AAAA records for `name`, following CNAMEs inside the answer. */
export function addressRecords(res: DnsResponse, name: string, type: number, section: 'answers' | 'additionals' = 'answers'): { values: string[]; ttl: number } {
  const records = res[section];
  const owners = new Set([name.toLowerCase().replace(/\.$/, '')]);
  let ttl = Infinity;
  // A CNAME chain is short; a few passes resolve it in any order.
  for (let pass = 0; pass < 8; pass++) {
    let grew = false;
    for (const r of records) {
      if (r.type === QTYPE.CNAME && owners.has(r.name) && typeof r.data === 'string' && !owners.has(r.data)) {
        owners.add(r.data);
        ttl = Math.min(ttl, r.ttl);
        grew = true;
      }
    }
    if (!grew) break;
  }
  const values: string[] = [];
  for (const r of records) {
    if (r.type === type && owners.has(r.name) && typeof r.data === 'string') {
      values.push(r.data);
      ttl = Math.min(ttl, r.ttl);
    }
  }
  return { values, ttl: values.length > 0 ? ttl : 0 };
}

/**
 * SRV: the records of the lowest priority (RFC 2782; higher priorities are
 * fallbacks, weights are ignored since endpoints are balanced equally), each
 * target's addresses from the additional section or, if absent, an A then an
 * AAAA query. A target of "." means "no service here" and is skipped.
 */
async function resolveSrv(res: DnsResponse, name: string, ask: (name: string, type: QueryType) => Promise<DnsResponse>): Promise<Resolution> {
  const owner = name.toLowerCase().replace(/\.$/, '');
  const srv = res.answers.filter((r) => r.type === QTYPE.SRV && r.name === owner && r.data !== null && (r.data as SrvData).target !== '');
  if (srv.length === 0) return { addresses: [], ttl: 0 };
  const lowest = Math.min(...srv.map((r) => (r.data as SrvData).priority));
  let ttl = Infinity;
  const addresses: string[] = [];
  for (const r of srv) {
    const d = r.data as SrvData;
    if (d.priority !== lowest) continue;
    ttl = Math.min(ttl, r.ttl);
    let found = [...addressRecords(res, d.target, QTYPE.A, 'additionals').values, ...addressRecords(res, d.target, QTYPE.AAAA, 'additionals').values];
    if (found.length > 0) {
      ttl = Math.min(ttl, additionalTtl(res, d.target));
    } else {
      for (const t of ['A', 'AAAA'] as const) {
        const sub = await ask(d.target, t);
        if (sub.rcode !== 0) continue;
        const got = addressRecords(sub, d.target, QTYPE[t]);
        if (got.values.length === 0) continue;
        found = got.values;
        ttl = Math.min(ttl, got.ttl);
        break;
      }
    }
    for (const host of found) addresses.push(formatHostPort({ host, port: d.port }));
  }
  return { addresses, ttl: Number.isFinite(ttl) ? ttl : 0 };
}

function additionalTtl(res: DnsResponse, target: string): number {
  let ttl = Infinity;
  for (const r of res.additionals) if (r.name === target && (r.type === QTYPE.A || r.type === QTYPE.AAAA)) ttl = Math.min(ttl, r.ttl);
  return ttl;
}
