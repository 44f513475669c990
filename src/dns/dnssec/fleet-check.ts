import type { Logger } from '../../util/logger.ts';
import { dnssecKeysetMismatch } from '../metrics.ts';

/** What one peer nameserver says it serves: zone -> key-set fingerprint (`unsigned` for an unsigned zone). */
export interface PeerKeysets {
  node: string;
  /** Where we read it: `gossip` (the member's health record) or `etcd` (its leased status key). */
  source: string;
  keysets: Record<string, string>;
}

export interface ZoneKeysetReport {
  zone: string;
  /** This node's fingerprint for the zone. */
  keyset: string;
  /** Every peer that serves the zone, with what it serves. */
  peers: { node: string; source: string; keyset: string }[];
  mismatch: boolean;
}

export interface KeysetCheckReport {
  state: 'ok' | 'degraded';
  /** One line per mismatched zone, naming the nodes and fingerprints (the /v1/health reason). */
  reasons: string[];
  zones: ZoneKeysetReport[];
}

/**
 * Every nameserver of a zone must serve the same DNSKEY set: a resolver checks
 * answers from any of them against one DS and one cached DNSKEY set, so a node
 * that missed a key file or a rollover step gives SERVFAILs to some resolvers.
 * This compares this node's fingerprints with its peers' (gossip and/or the
 * etcd store deliver them) and says so loudly when they differ: an error log
 * line on every change of the picture, `edgeplane_dns_dnssec_keyset_mismatch`
 * per zone, and a degraded report for /v1/health. Only zones both sides serve
 * are compared. Both sides of a mismatch report it: from one node alone it is
 * not knowable which set is the intended one.
 */
export class KeysetCheck {
  readonly #log: Logger;
  #report: KeysetCheckReport = { state: 'ok', reasons: [], zones: [] };
  #logged = '';
  #zonesExported = new Set<string>();

  constructor(logger: Logger) {
    this.#log = logger;
  }

  report(): KeysetCheckReport {
    return this.#report;
  }

  update(local: Record<string, string>, peers: readonly PeerKeysets[]): KeysetCheckReport {
    // One entry per peer node: the same node seen through gossip and etcd counts once (gossip first).
    const byNode = new Map<string, PeerKeysets>();
    for (const p of peers) if (!byNode.has(p.node)) byNode.set(p.node, p);
    const zones: ZoneKeysetReport[] = [];
    for (const zone of Object.keys(local).sort()) {
      const keyset = local[zone]!;
      const seen: ZoneKeysetReport['peers'] = [];
      for (const p of [...byNode.values()].sort((a, b) => (a.node < b.node ? -1 : 1))) {
        const theirs = p.keysets[zone];
        if (theirs !== undefined) seen.push({ node: p.node, source: p.source, keyset: theirs });
      }
      zones.push({ zone, keyset, peers: seen, mismatch: seen.some((p) => p.keyset !== keyset) });
    }
    const reasons = zones
      .filter((z) => z.mismatch)
      .map((z) => {
        const differ = z.peers.filter((p) => p.keyset !== z.keyset);
        const agree = z.peers.length - differ.length;
        return `dnssec: zone ${z.zone}: this node serves DNSKEY set ${z.keyset} but ${differ.map((p) => `${p.node} serves ${p.keyset}`).join(', ')}${agree > 0 ? ` (${agree} peer(s) agree with this node)` : ''}`;
      });
    this.#report = { state: reasons.length > 0 ? 'degraded' : 'ok', reasons, zones };
    this.#export(zones);
    const text = JSON.stringify(reasons);
    if (text !== this.#logged) {
      if (reasons.length > 0) for (const r of reasons) this.#log.error({ zones: zones.filter((z) => z.mismatch) }, `${r}: every nameserver of a zone must serve the same DNSKEY set (a missed key file or rollover step?); resolvers will fail to validate some answers`);
      else if (this.#logged !== '') this.#log.warn({ zones: zones.map((z) => z.zone) }, 'dnssec: DNSKEY sets agree with every peer again');
      this.#logged = text;
    }
    return this.#report;
  }

  #export(zones: ZoneKeysetReport[]): void {
    const now = new Set(zones.map((z) => z.zone));
    for (const z of this.#zonesExported) if (!now.has(z)) dnssecKeysetMismatch.remove({ zone: z });
    for (const z of zones) dnssecKeysetMismatch.set({ zone: z.zone }, z.mismatch ? 1 : 0);
    this.#zonesExported = now;
  }
}
