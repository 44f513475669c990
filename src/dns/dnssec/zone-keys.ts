import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { DnsConfig } from '../../config/schema/index.ts';
import { parseDuration } from '../../util/duration.ts';
import { DnsConfigIssue, DnsError } from '../errors.ts';
import { RRType } from '../wire/constants.ts';
import { nameFromText, nameToText } from '../wire/name.ts';
import type { CompiledZone } from '../zone/types.ts';
import { DnssecAlgorithm, dsRdata, loadZoneKey, type ZoneKey } from './keys.ts';
import { ZoneSigner } from './signer.ts';
import { DNSSEC_DEFAULTS as D, DNSSEC_KEY_DEFAULTS as KEY, ZONE_DEFAULTS } from '../options.ts';


type ZoneConfig = DnsConfig['zones'][number];

/** Loads a zone's key files (relative paths against `baseDir`); every problem is an issue with its config path. */
export function loadZoneKeys(z: ZoneConfig, index: number, baseDir: string, issues: DnsConfigIssue[]): ZoneKey[] {
  const d = z.dnssec!;
  const path = ['dns', 'zones', index, 'dnssec'];
  const want = DnssecAlgorithm[d.algorithm ?? D.algorithm];
  const keys: ZoneKey[] = [];
  d.keys.forEach((k, j) => {
    const file = resolvePath(baseDir, k.file);
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (err) {
      issues.push(new DnsConfigIssue('EP_DNS_DNSSEC', [...path, 'keys', j, 'file'], `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
      return;
    }
    try {
      const key = loadZoneKey(pem, k.role ?? KEY.role, k.state ?? KEY.state);
      if (key.algorithm !== want) throw new DnsError('EP_DNS_DNSSEC', `${file} is an algorithm ${key.algorithm} key but the zone signs with ${d.algorithm ?? D.algorithm} (${want})`);
      if (keys.some((o) => o.tag === key.tag && o.dnskey.equals(key.dnskey))) throw new DnsError('EP_DNS_DNSSEC', `${file} is listed twice`);
      keys.push(key);
    } catch (err) {
      if (!(err instanceof DnsError)) throw err;
      issues.push(new DnsConfigIssue(err.code, [...path, 'keys', j, 'file'], err.message));
    }
  });
  if (keys.length === d.keys.length) {
    const active = keys.filter((k) => k.state === 'active');
    if (!active.some((k) => k.role !== 'zsk')) issues.push(new DnsConfigIssue('EP_DNS_DNSSEC', [...path, 'keys'], 'no active csk or ksk: nothing would sign the DNSKEY set'));
    if (!active.some((k) => k.role !== 'ksk')) issues.push(new DnsConfigIssue('EP_DNS_DNSSEC', [...path, 'keys'], 'no active csk or zsk: nothing would sign the zone data'));
  }
  const validity = parseDuration(d.signatureValidity ?? D.signatureValidity);
  const refresh = parseDuration(d.refresh ?? D.refresh);
  if (refresh >= validity) issues.push(new DnsConfigIssue('EP_DNS_DNSSEC', [...path, 'refresh'], `refresh (${d.refresh ?? D.refresh}) must be shorter than signatureValidity (${d.signatureValidity ?? D.signatureValidity}): signatures would expire before they are renewed`));
  return keys;
}

/**
 * Makes a compiled zone signed: the DNSKEY set (every listed key), CDS and
 * CDNSKEY for the active SEP keys at the apex, and a signer whose validity
 * window starts now. Called on every build and every refresh.
 */
export function signZone(zone: CompiledZone, z: ZoneConfig, keys: ZoneKey[], nowMs: number): void {
  const d = z.dnssec!;
  const apex = zone.nodes.get(zone.originKey)!;
  const ttl = d.dnskeyTtl ?? z.ttl ?? ZONE_DEFAULTS.ttl;
  apex.rrsets.set(RRType.DNSKEY, { type: RRType.DNSKEY, ttl, rdatas: keys.map((k) => ({ type: RRType.DNSKEY, raw: k.dnskey })) });
  const sep = keys.filter((k) => k.state === 'active' && k.role !== 'zsk');
  if ((d.cds ?? D.cds) && sep.length > 0) {
    apex.rrsets.set(RRType.CDS, { type: RRType.CDS, ttl, rdatas: sep.map((k) => ({ type: RRType.CDS, raw: dsRdata(zone.origin, k) })) });
    apex.rrsets.set(RRType.CDNSKEY, { type: RRType.CDNSKEY, ttl, rdatas: sep.map((k) => ({ type: RRType.CDNSKEY, raw: k.dnskey })) });
  }
  zone.dnssec = new ZoneSigner(zone.origin, keys, nowMs, parseDuration(d.signatureValidity ?? D.signatureValidity));
}

/** Names a DNSKEY set: equal on two nameservers exactly when they publish the same keys. */
export function keysetFingerprint(keys: readonly ZoneKey[]): { fingerprint: string; tags: string } {
  const sorted = keys.map((k) => k.dnskey).sort(Buffer.compare);
  const h = createHash('sha256');
  for (const k of sorted) h.update(k);
  return { fingerprint: h.digest('hex').slice(0, 16), tags: keys.map((k) => k.tag).sort((a, b) => a - b).join(',') };
}

/** A key set as peers compare it: sorted key tags and the fingerprint (`12345,60485/9f2c...`). */
export function keysetLabel(keys: readonly ZoneKey[]): string {
  const { fingerprint, tags } = keysetFingerprint(keys);
  return `${tags}/${fingerprint}`;
}

/**
 * Zone -> key set label for every zone of `config` (`unsigned` for an
 * unsigned zone): what this node tells its peers it serves. Derived from the
 * config the node applied (the DNS server refuses a config whose keys don't
 * load, so the two never disagree); zones whose keys don't load are left out.
 */
export function servedKeysets(config: DnsConfig, baseDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  config.zones.forEach((z, i) => {
    const zone = nameToText(nameFromText(z.origin));
    if (!z.dnssec) {
      out[zone] = 'unsigned';
      return;
    }
    const issues: DnsConfigIssue[] = [];
    const keys = loadZoneKeys(z, i, baseDir, issues);
    if (keys.length === z.dnssec.keys.length && keys.length > 0) out[zone] = keysetLabel(keys);
  });
  return out;
}

/** The shortest refresh interval of the signed zones, or undefined when none is signed. */
export function refreshInterval(config: DnsConfig): number | undefined {
  let min: number | undefined;
  for (const z of config.zones) {
    if (!z.dnssec) continue;
    const r = parseDuration(z.dnssec.refresh ?? D.refresh);
    min = min === undefined ? r : Math.min(min, r);
  }
  return min;
}
