import { isIP } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import type { DnsConfig } from '../config/schema/index.ts';
import { formatPath } from '../config/source.ts';
import { systemClock, type Clock } from '../util/clock.ts';
import { parseDuration } from '../util/duration.ts';
import { ConfigError } from '../util/errors.ts';
import { silentLogger, type Logger } from '../util/logger.ts';
import { parseHostPort } from '../util/address.ts';
import { mathRng, type Rng } from '../util/rng.ts';
import { AnswerCache } from './answer/cache.ts';
import { checkDnsConfig } from './config-check.ts';
import { DnsError } from './errors.ts';
import { GeoLocator } from './geo/locator.ts';
import { MmdbRegionMap } from './geo/mmdb.ts';
import type { GtmNameWeights } from './gtm/policy.ts';
import type { RegionView } from './region-view.ts';
import { Responder, type ResponderState } from './responder.ts';
import { ResponseRateLimiter, rrlSettings } from './rrl.ts';
import { TcpListener, type TcpSettings } from './transport/tcp.ts';
import { UdpListener } from './transport/udp.ts';
import { compileZones } from './zone/compile.ts';
import { identityFrom } from './identity.ts';
import { CookieJar, cookieSettings } from './cookies.ts';
import { keysetFingerprint, loadZoneKeys, refreshInterval, signZone } from './dnssec/zone-keys.ts';
import { dnssecKeyset } from './metrics.ts';
import type { DnsConfigIssue } from './errors.ts';
import { DNS_DEFAULTS, TCP_DEFAULTS } from './options.ts';

export interface DnsServerOptions {
  config: DnsConfig;
  regionView: RegionView;
  rng?: Rng;
  clock?: Clock;
  logger?: Logger;
  /** Relative file paths in the config (the MMDB) resolve against this; default the working directory. */
  baseDir?: string;
  /**
   * This gateway's region, for cross-checking geo regions the way
   * `edgeplane validate` does; optional because the DNS server itself doesn't need it.
   */
  nodeRegion?: string;
}

/** The DNSKEY set a signed zone serves (peers compare these: they must agree). */
export interface DnssecKeyset {
  zone: string;
  fingerprint: string;
  tags: string;
}

/** Effective weights per GTM name, for /v1/fleet and the dashboard. */
export type GtmWeightsView = GtmNameWeights[];

/** Queries are small; anything claiming more is not a query we will answer. */
const MAX_TCP_QUERY = 4096;
const BIND_ATTEMPTS = 8;

interface Listening {
  host: string;
  udp: UdpListener;
  tcp: TcpListener;
}

/**
 * The authoritative DNS server: compiles zones into an answer cache, binds
 * UDP and TCP on every `dns.listen` address, and keeps GTM answers in step
 * with the region view.
 */
export class DnsServer {
  readonly #view: RegionView;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #baseDir: string;
  readonly #nodeRegion: string | undefined;
  readonly #responder: Responder;
  #config: DnsConfig;
  #state: ResponderState;
  #listening: Listening[] = [];
  #unsubscribe: (() => void) | undefined;
  #phase: 'new' | 'starting' | 'running' | 'closed' = 'new';
  #resignTimer: NodeJS.Timeout | undefined;
  #keysets: DnssecKeyset[] = [];
  #publishedKeysets = '';

  constructor(options: DnsServerOptions) {
    this.#view = options.regionView;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#baseDir = options.baseDir ?? process.cwd();
    this.#nodeRegion = options.nodeRegion;
    this.#config = options.config;
    this.#state = this.#build(options.config, undefined);
    this.#responder = new Responder(this.#state, options.rng ?? mathRng);
    // A region-view change re-plans GTM answers in place; static answers stay.
    this.#unsubscribe = this.#view.onChange(() => this.#state.cache.refreshGtm(this.#view));
  }

  /** Validates and compiles a config; throws ConfigError (with config paths) or DnsError without touching the running state. */
  #build(config: DnsConfig, previous: ResponderState | undefined): ResponderState {
    const issues = this.#nodeRegion !== undefined ? checkDnsConfig(config, this.#nodeRegion) : compileZones(config).issues;
    if (issues.length > 0) throw new ConfigError(issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
    const { zones } = compileZones(config);
    const keyIssues: DnsConfigIssue[] = [];
    const zoneKeys = zones.map((z) => (config.zones[z.index]!.dnssec ? loadZoneKeys(config.zones[z.index]!, z.index, this.#baseDir, keyIssues) : undefined));
    if (keyIssues.length > 0) throw new ConfigError(keyIssues.map((i) => ({ path: formatPath(i.path), message: i.message })));
    zones.forEach((z, i) => {
      if (zoneKeys[i]) signZone(z, config.zones[z.index]!, zoneKeys[i]!, this.#clock.wallNow());
    });
    this.#keysets = zones.flatMap((z, i) => (zoneKeys[i] ? [{ zone: z.originText, ...keysetFingerprint(zoneKeys[i]!) }] : []));
    const mmdbConfig = config.geo?.mmdb;
    let mmdb: MmdbRegionMap | undefined;
    if (mmdbConfig) {
      try {
        mmdb = new MmdbRegionMap(resolvePath(this.#baseDir, mmdbConfig.path), mmdbConfig.countries, mmdbConfig.continents);
      } catch (err) {
        throw new ConfigError([{ path: 'dns.geo.mmdb.path', message: (err as Error).message }]);
      }
    }
    const regionNames = new Set<string>();
    for (const z of config.zones) for (const g of z.gtm ?? []) for (const r of g.regions) regionNames.add(r.region);
    for (const r of Object.values(mmdbConfig?.countries ?? {})) regionNames.add(r);
    for (const r of Object.values(mmdbConfig?.continents ?? {})) regionNames.add(r);
    const locator = new GeoLocator(config.geo?.networks ?? [], mmdb, [...regionNames]);
    const cache = new AnswerCache(zones, locator, this.#view);
    const settings = rrlSettings(config.rrl);
    const rrl = previous && JSON.stringify(previous.rrl.settings) === JSON.stringify(settings) ? previous.rrl : new ResponseRateLimiter(settings, this.#clock);
    const maxCandidates = cache.gtm.reduce((m, rt) => Math.max(m, rt.v4?.candidates.length ?? 0, rt.v6?.candidates.length ?? 0), 1);
    const cookies = previous?.cookies && JSON.stringify(config.cookies ?? {}) === JSON.stringify(this.#config.cookies ?? {}) ? previous.cookies : this.#cookieJar(config);
    const clock = this.#clock;
    return { cache, rrl, udpSize: config.udpPayloadSize ?? DNS_DEFAULTS.udpPayloadSize, maxCandidates, identity: identityFrom(config.identity), cookies, nowSeconds: () => Math.floor(clock.wallNow() / 1000) };
  }

  #cookieJar(config: DnsConfig): CookieJar | undefined {
    try {
      const settings = cookieSettings(config.cookies);
      return settings.enabled ? new CookieJar(settings) : undefined;
    } catch (err) {
      throw new ConfigError([{ path: 'dns.cookies', message: (err as Error).message }]);
    }
  }

  #tcpSettings(config: DnsConfig): TcpSettings {
    return {
      idleTimeoutMs: parseDuration(config.tcp?.idleTimeout ?? TCP_DEFAULTS.idleTimeout),
      messageTimeoutMs: parseDuration(config.tcp?.messageTimeout ?? TCP_DEFAULTS.messageTimeout),
      maxConnectionDurationMs: parseDuration(config.tcp?.maxConnectionDuration ?? TCP_DEFAULTS.maxConnectionDuration),
      maxConnections: config.tcp?.maxConnections ?? TCP_DEFAULTS.maxConnections,
      maxConnectionsPerClient: config.tcp?.maxConnectionsPerClient ?? TCP_DEFAULTS.maxConnectionsPerClient,
      maxMessage: MAX_TCP_QUERY,
    };
  }

  async start(): Promise<void> {
    if (this.#phase !== 'new') throw new DnsError('EP_DNS_STATE', `start() called on a ${this.#phase} DNS server`);
    this.#phase = 'starting';
    const entries = this.#config.listen.map((text) => parseHostPort(text));
    try {
      for (const { host, port } of entries) {
        // a v6 wildcard would also take the v4 port (dual stack) when a v4 entry wants it
        const ipv6Only = isIP(host) === 6 && entries.some((e) => isIP(e.host) === 4 && e.port === port);
        this.#listening.push(await this.#bindPair(host, port, ipv6Only));
      }
    } catch (err) {
      await this.#closeListeners();
      this.#phase = 'closed';
      throw err;
    }
    this.#phase = 'running';
    this.#scheduleResign();
    this.#publishKeysets();
    const a = this.addresses();
    this.#logger.info({ udp: a.udp, tcp: a.tcp, zones: this.#state.cache.zones.map((z) => z.zone.originText) }, 'dns: serving');
  }

  /** UDP and TCP on one port; with port 0 the OS picks UDP's and TCP follows (retried if taken). */
  async #bindPair(host: string, port: number, ipv6Only: boolean): Promise<Listening> {
    for (let attempt = 1; ; attempt++) {
      const udp = new UdpListener(host, this.#responder, this.#logger, ipv6Only);
      const tcp = new TcpListener(host, this.#responder, this.#logger, this.#tcpSettings(this.#config), ipv6Only);
      let bound: number;
      try {
        bound = await udp.bind(port);
      } catch (err) {
        await udp.close();
        throw new DnsError('EP_DNS_BIND', `cannot bind DNS UDP ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
      }
      try {
        await tcp.bind(bound);
        return { host, udp, tcp };
      } catch (err) {
        await udp.close();
        await tcp.close();
        const code = (err as NodeJS.ErrnoException).code;
        if (port === 0 && code === 'EADDRINUSE' && attempt < BIND_ATTEMPTS) continue;
        throw new DnsError('EP_DNS_BIND', `cannot bind DNS TCP ${host}:${bound}: ${code ?? (err as Error).message}`, { cause: err });
      }
    }
  }

  /**
   * Replaces zones, geo, RRL and EDNS settings at once: everything is compiled
   * first, so a bad config throws and leaves the old one serving. Listen
   * addresses are fixed for the server's life.
   */
  update(config: DnsConfig): void {
    if (this.#phase === 'closed') throw new DnsError('EP_DNS_STATE', 'update() on a closed DNS server');
    const next = this.#build(config, this.#state);
    if (JSON.stringify(config.listen) !== JSON.stringify(this.#config.listen)) {
      this.#logger.warn({ from: this.#config.listen, to: config.listen }, 'dns: listen addresses change only on restart');
    }
    this.#state = next;
    this.#responder.setState(next);
    for (const l of this.#listening) l.tcp.settings = this.#tcpSettings(config);
    this.#config = config;
    this.#scheduleResign();
    this.#publishKeysets();
    this.#logger.info({ zones: next.cache.zones.map((z) => z.zone.originText) }, 'dns: zones updated');
  }

  /**
   * Signed zones get a fresh validity window every `refresh`: the whole state
   * is rebuilt (compiled, signed) off to the side and swapped in one
   * assignment, so queries never wait for signing.
   */
  #scheduleResign(): void {
    clearTimeout(this.#resignTimer);
    const every = refreshInterval(this.#config);
    if (every === undefined || this.#phase !== 'running') return;
    this.#resignTimer = setTimeout(() => {
      try {
        const next = this.#build(this.#config, this.#state);
        this.#state = next;
        this.#responder.setState(next);
        this.#logger.info({ zones: next.cache.zones.filter((z) => z.zone.dnssec).map((z) => z.zone.originText) }, 'dns: zones re-signed');
      } catch (err) {
        // keep serving the current signatures (valid until their expiration) and say why loudly
        this.#logger.error({ err: (err as Error).message }, 'dns: re-signing failed; the current signatures stay until they expire');
      }
      this.#scheduleResign();
    }, Math.min(every, 2 ** 31 - 1));
    this.#resignTimer.unref();
  }

  addresses(): { udp: { address: string; port: number }[]; tcp: { address: string; port: number }[] } {
    return {
      udp: this.#listening.map((l) => l.udp.address()),
      tcp: this.#listening.map((l) => l.tcp.address()),
    };
  }

  /** Per signed zone, the DNSKEY set served: for fleet views and health checks that compare nodes. */
  dnssecKeysets(): DnssecKeyset[] {
    return this.#keysets.map((k) => ({ ...k }));
  }

  /** Exports the key sets as a metric and logs a change (a rollover step, or a node that differs). */
  #publishKeysets(): void {
    const text = JSON.stringify(this.#keysets);
    if (text === this.#publishedKeysets) return;
    dnssecKeyset.reset();
    for (const k of this.#keysets) dnssecKeyset.set({ zone: k.zone, fingerprint: k.fingerprint, key_tags: k.tags }, 1);
    if (this.#keysets.length > 0) this.#logger.info({ keysets: this.#keysets }, 'dns: DNSKEY sets served (every nameserver of a zone must serve the same)');
    this.#publishedKeysets = text;
  }

  gtmWeights(): GtmWeightsView {
    return this.#state.cache.gtm.map((rt) => ({ ...rt.weights, regions: rt.weights.regions.map((r) => ({ ...r, vips: [...r.vips] })) }));
  }

  async close(): Promise<void> {
    clearTimeout(this.#resignTimer);
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#phase = 'closed';
    await this.#closeListeners();
  }

  async #closeListeners(): Promise<void> {
    const all = this.#listening;
    this.#listening = [];
    await Promise.all(all.flatMap((l) => [l.udp.close(), l.tcp.close()]));
  }
}
