import type { Config } from './config/schema/index.ts';
import type { ConfigStore } from './control/store.ts';
import { KeysetCheck, type KeysetCheckReport, type PeerKeysets } from './dns/dnssec/fleet-check.ts';
import { servedKeysets } from './dns/dnssec/zone-keys.ts';
import type { Fleet } from './gossip/fleet-service.ts';
import type { Logger } from './util/logger.ts';

export interface KeysetWatchOptions {
  /** The config in force (its `dns` zones and key files). */
  config: () => Config;
  baseDir: string;
  fleet: () => Fleet | null;
  store: () => ConfigStore | null;
  logger: Logger;
  /** How often peers' key sets are read (etcd) and compared; gossip delivers them on its own. */
  intervalMs?: number;
}

/**
 * The gateway's wiring of the fleet DNSSEC key-set check: publishes this
 * node's key sets where peers read them (its gossip health record and, with
 * the etcd store, its leased status key), collects the peers' and hands both
 * to the DNS module's KeysetCheck. Does nothing for a gateway that serves no
 * zone or has neither gossip nor a shared store.
 */
export class KeysetWatch {
  readonly #o: KeysetWatchOptions;
  readonly #check: KeysetCheck;
  #timer: NodeJS.Timeout | undefined;
  #local: { dns: Config['dns']; keysets: Record<string, string> } | undefined;
  #etcdPeers: PeerKeysets[] = [];
  #reading = false;

  constructor(o: KeysetWatchOptions) {
    this.#o = o;
    this.#check = new KeysetCheck(o.logger.child({ component: 'dnssec-fleet' }));
  }

  start(): void {
    this.tick();
    this.#timer = setInterval(() => this.tick(), this.#o.intervalMs ?? 1000);
    this.#timer.unref();
  }

  /** The /v1/health part; undefined while this node serves no zone. */
  report(): KeysetCheckReport | undefined {
    return this.#local && Object.keys(this.#local.keysets).length > 0 ? this.#check.report() : undefined;
  }

  tick(): void {
    const dns = this.#o.config().dns;
    if (!this.#local || this.#local.dns !== dns) this.#local = { dns, keysets: dns ? servedKeysets(dns, this.#o.baseDir) : {} };
    const local = this.#local.keysets;
    const fleet = this.#o.fleet();
    const store = this.#o.store();
    fleet?.setDnssecKeysets(local);
    store?.setDnssecKeysets?.(local);
    const peers: PeerKeysets[] = [];
    if (fleet) {
      for (const m of fleet.view().members) {
        // Dead and departed members serve nothing; their last record stays in the table a while.
        if (m.self || (m.state !== 'alive' && m.state !== 'suspect') || !m.health?.keysets) continue;
        peers.push({ node: m.name, source: 'gossip', keysets: m.health.keysets });
      }
    }
    this.#readStore(store);
    peers.push(...this.#etcdPeers);
    this.#check.update(local, peers);
  }

  #readStore(store: ConfigStore | null): void {
    if (!store?.nodes || this.#reading) return;
    this.#reading = true;
    const self = this.#o.config().node.id;
    store
      .nodes()
      .then((nodes) => {
        this.#etcdPeers = nodes.filter((n) => n.id !== self && n.dnssec && typeof n.dnssec === 'object').map((n) => ({ node: n.id, source: 'etcd', keysets: n.dnssec! }));
      })
      // Unreachable etcd: keep the last peers read (the store's own status reports the outage).
      .catch(() => {})
      .finally(() => (this.#reading = false));
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
