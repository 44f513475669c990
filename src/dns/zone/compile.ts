import type { DnsConfig } from '../../config/schema/index.ts';
import { RRType, STATIC_TYPES } from '../wire/constants.ts';
import { isAtOrBelow, isWildcard, nameFromText, nameKey, nameToText, parentName, type WireName } from '../wire/name.ts';
import { parseIPv4, parseIPv6 } from '../wire/ip.ts';
import { parseRData, writeRData, type RData } from '../wire/rdata.ts';
import { MessageWriter } from '../wire/writer.ts';
import { DnsConfigIssue, DnsError } from '../errors.ts';
import type { CompiledZone, GtmSpec, RRset, ZoneNode } from './types.ts';
import { GTM_DEFAULTS, SOA_DEFAULTS, ZONE_DEFAULTS } from '../options.ts';

type ZoneConfig = DnsConfig['zones'][number];
type Path = (string | number)[];


export interface CompileResult {
  zones: CompiledZone[];
  issues: DnsConfigIssue[];
}

/**
 * Turns the `dns.zones` config into name trees. Every problem becomes an issue
 * with its config path (cross-check reports them; the server refuses to start
 * with any), so a zone that compiles is internally consistent.
 */
export function compileZones(dns: DnsConfig): CompileResult {
  const issues: DnsConfigIssue[] = [];
  const zones: CompiledZone[] = [];
  const origins = new Map<string, number>();
  dns.zones.forEach((z, i) => {
    const zone = compileZone(z, i, ['dns', 'zones', i], issues);
    if (!zone) return;
    const prev = origins.get(zone.originKey);
    if (prev !== undefined) {
      issues.push(new DnsConfigIssue('EP_DNS_ZONE', ['dns', 'zones', i, 'origin'], `zone ${zone.originText} is already defined by dns.zones[${prev}]`));
      return;
    }
    origins.set(zone.originKey, i);
    zones.push(zone);
  });
  // A name inside a more specific zone served here belongs to that zone; data
  // for it in the parent would never be served, so say so instead of hiding it.
  for (const parent of zones) {
    for (const child of zones) {
      if (child === parent || !isAtOrBelow(child.origin, parent.origin)) continue;
      for (const node of parent.nodes.values()) {
        // the parent's delegation to the child and its glue are expected; ENTs hold nothing
        if (node.delegatedAt || (node.rrsets.size === 0 && !node.gtm)) continue;
        if (isAtOrBelow(node.name, child.origin)) {
          issues.push(new DnsConfigIssue('EP_DNS_ZONE', ['dns', 'zones', parent.index], `${nameToText(node.name)} belongs to zone ${child.originText} (also served here); move its records there`));
        }
      }
    }
  }
  return { zones, issues };
}

function wrap<T>(issues: DnsConfigIssue[], path: Path, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DnsError) {
      issues.push(new DnsConfigIssue(err.code, path, err.message));
      return undefined;
    }
    throw err;
  }
}

function rname(text: string): WireName {
  const at = text.indexOf('@');
  if (at < 0) return nameFromText(text);
  const local = text.slice(0, at);
  if (local.includes('.')) throw new DnsError('EP_DNS_NAME', 'a mailbox with a dot before the @ cannot be written as a name; use the name form');
  return nameFromText(`${local}.${text.slice(at + 1)}`);
}

function rdataKey(rd: RData): string {
  const w = new MessageWriter(64);
  // uncompressed and lowercased: two spellings of one record compare equal
  if ('target' in rd) w.name(rd.target, false).u16(rd.type);
  else writeRData(w, rd);
  return `${rd.type}:${w.finish().toString('latin1')}`;
}

function compileZone(z: ZoneConfig, index: number, path: Path, issues: DnsConfigIssue[]): CompiledZone | undefined {
  const origin = wrap(issues, [...path, 'origin'], () => nameFromText(z.origin));
  if (!origin) return undefined;
  const defaultTtl = z.ttl ?? ZONE_DEFAULTS.ttl;
  const mname = wrap(issues, [...path, 'soa', 'mname'], () => nameFromText(z.soa.mname));
  const rn = wrap(issues, [...path, 'soa', 'rname'], () => rname(z.soa.rname));
  const soaTtl = z.soa.ttl ?? defaultTtl;
  const soa: RRset = {
    type: RRType.SOA,
    ttl: soaTtl,
    rdatas: [{
      type: RRType.SOA,
      mname: mname ?? origin,
      rname: rn ?? origin,
      serial: z.soa.serial ?? SOA_DEFAULTS.serial,
      refresh: z.soa.refresh,
      retry: z.soa.retry,
      expire: z.soa.expire,
      minimum: z.soa.minimum,
    }],
  };
  const nodes = new Map<string, ZoneNode>();
  const node = (name: WireName): ZoneNode => {
    const key = nameKey(name);
    let n = nodes.get(key);
    if (!n) {
      n = { name, key, rrsets: new Map(), cut: false };
      nodes.set(key, n);
    }
    return n;
  };
  const apex = node(origin);
  apex.rrsets.set(RRType.SOA, soa);
  const nsSet: RRset = { type: RRType.NS, ttl: defaultTtl, rdatas: [] };
  const seenNs = new Set<string>();
  z.nameservers.forEach((ns, j) => {
    const target = wrap(issues, [...path, 'nameservers', j], () => nameFromText(ns));
    if (!target) return;
    const rd: RData = { type: RRType.NS, target };
    const k = rdataKey(rd);
    if (seenNs.has(k)) return issues.push(new DnsConfigIssue('EP_DNS_ZONE', [...path, 'nameservers', j], `duplicate nameserver ${ns}`));
    seenNs.add(k);
    nsSet.rdatas.push(rd);
  });
  apex.rrsets.set(RRType.NS, nsSet);

  const ownerOf = (text: string, p: Path): WireName | undefined => {
    const name = wrap(issues, p, () => nameFromText(text, origin));
    if (!name) return undefined;
    if (!isAtOrBelow(name, origin)) {
      issues.push(new DnsConfigIssue('EP_DNS_ZONE', p, `${nameToText(name)} is outside zone ${nameToText(origin)}`));
      return undefined;
    }
    return name;
  };

  const recordKeys = new Map<string, Set<string>>();
  const recordPaths = new Map<string, Path>();
  (z.records ?? []).forEach((r, j) => {
    const rp = [...path, 'records', j];
    const name = ownerOf(r.name, [...rp, 'name']);
    if (!name) return;
    if (!(STATIC_TYPES as readonly string[]).includes(r.type)) {
      issues.push(new DnsConfigIssue('EP_DNS_RDATA', [...rp, 'type'], `record type ${r.type} is not supported (use one of ${STATIC_TYPES.join(', ')})`));
      return;
    }
    const rd = wrap(issues, [...rp, 'value'], () => parseRData(r.type, r.value));
    if (!rd) return;
    const n = node(name);
    if (rd.type === RRType.NS && n === apex) {
      issues.push(new DnsConfigIssue('EP_DNS_ZONE', [...rp, 'type'], 'NS records at the apex come from the zone\'s nameservers list'));
      return;
    }
    if (rd.type === RRType.CNAME && n === apex) {
      issues.push(new DnsConfigIssue('EP_DNS_ZONE', [...rp, 'type'], 'a CNAME at the zone apex would hide its SOA and NS (RFC 1912 2.4)'));
      return;
    }
    const ttl = r.ttl ?? defaultTtl;
    const keys = recordKeys.get(n.key) ?? new Set<string>();
    recordKeys.set(n.key, keys);
    const k = rdataKey(rd);
    if (keys.has(k)) {
      issues.push(new DnsConfigIssue('EP_DNS_ZONE', rp, `duplicate record ${nameToText(name)} ${r.type} ${r.value}`));
      return;
    }
    keys.add(k);
    let set = n.rrsets.get(rd.type);
    if (!set) {
      set = { type: rd.type, ttl, rdatas: [] };
      n.rrsets.set(rd.type, set);
      recordPaths.set(`${n.key}/${rd.type}`, rp);
    } else if (set.ttl !== ttl) {
      issues.push(new DnsConfigIssue('EP_DNS_ZONE', [...rp, 'ttl'], `all ${r.type} records of ${nameToText(name)} must have the same TTL (RFC 2181 5.2); the first has ${set.ttl}`));
      return;
    }
    if (rd.type === RRType.CNAME && set.rdatas.length > 0) {
      issues.push(new DnsConfigIssue('EP_DNS_ZONE', rp, `${nameToText(name)} has more than one CNAME`));
      return;
    }
    set.rdatas.push(rd);
  });

  const gtmNames = new Map<string, number>();
  (z.gtm ?? []).forEach((g, j) => {
    const gp = [...path, 'gtm', j];
    const name = ownerOf(g.name, [...gp, 'name']);
    if (!name) return;
    const n = node(name);
    const prev = gtmNames.get(n.key);
    if (prev !== undefined) {
      issues.push(new DnsConfigIssue('EP_DNS_ZONE', [...gp, 'name'], `GTM name ${nameToText(name)} is already defined by gtm[${prev}]`));
      return;
    }
    gtmNames.set(n.key, j);
    const spec = compileGtm(g, name, gp, issues);
    if (spec) n.gtm = spec;
  });

  // Cuts, occlusion and name-level consistency need every record in place.
  for (const n of nodes.values()) {
    if (n !== apex && n.rrsets.has(RRType.NS)) n.cut = true;
  }
  for (const n of nodes.values()) {
    // the highest cut above a name is the one that delegates it
    for (let p: WireName | undefined = n.name; p && p.length > origin.length; p = parentName(p)) {
      const anc = nodes.get(nameKey(p));
      if (anc?.cut) n.delegatedAt = anc.key;
    }
  }
  for (const n of nodes.values()) {
    const text = nameToText(n.name);
    const cname = n.rrsets.get(RRType.CNAME);
    const firstPath = (type: number) => recordPaths.get(`${n.key}/${type}`) ?? [...path];
    if (cname && (n.rrsets.size > 1 || gtmNames.has(n.key))) {
      issues.push(new DnsConfigIssue('EP_DNS_ZONE', firstPath(RRType.CNAME), `${text} has a CNAME and other data (RFC 1034 3.6.2)`));
    }
    const isGtm = gtmNames.has(n.key);
    if (isWildcard(n.name)) {
      // a wildcard synthesizes static data; a cut or a GTM name there has no meaning a resolver could follow
      if (isGtm) issues.push(new DnsConfigIssue('EP_DNS_ZONE', [...path, 'gtm', gtmNames.get(n.key)!, 'name'], `${text}: GTM names cannot be wildcards`));
      if (n.rrsets.has(RRType.NS)) issues.push(new DnsConfigIssue('EP_DNS_ZONE', firstPath(RRType.NS), `${text}: a wildcard cannot be a delegation (RFC 4592 4.2)`));
    }
    if (isGtm && (n.rrsets.has(RRType.A) || n.rrsets.has(RRType.AAAA))) {
      const t = n.rrsets.has(RRType.A) ? RRType.A : RRType.AAAA;
      issues.push(new DnsConfigIssue('EP_DNS_ZONE', firstPath(t), `${text} is a GTM name; its addresses come from the gtm entry, not from static records`));
    }
    if (n.delegatedAt) {
      if (isGtm) issues.push(new DnsConfigIssue('EP_DNS_ZONE', [...path, 'gtm', gtmNames.get(n.key)!], `GTM name ${text} is at or below the delegation ${nameToText(nodes.get(n.delegatedAt)!.name)}`));
      for (const t of n.rrsets.keys()) {
        const allowed = t === RRType.A || t === RRType.AAAA || (t === RRType.NS && n.cut);
        if (!allowed) issues.push(new DnsConfigIssue('EP_DNS_ZONE', firstPath(t), `${text} is at or below the delegation ${nameToText(nodes.get(n.delegatedAt)!.name)}: only glue (A/AAAA) may live there`));
      }
    }
  }

  // Empty non-terminals: ancestors of data that have none themselves (RFC 8020 relies on them existing).
  for (const n of [...nodes.values()]) {
    for (let p = parentName(n.name); p && p.length > origin.length; p = parentName(p)) {
      const k = nameKey(p);
      if (nodes.has(k)) continue;
      const ent: ZoneNode = { name: p, key: k, rrsets: new Map(), cut: false };
      const cutAbove = n.delegatedAt && isAtOrBelow(p, nodes.get(n.delegatedAt)!.name) ? n.delegatedAt : undefined;
      if (cutAbove) ent.delegatedAt = cutAbove;
      nodes.set(k, ent);
    }
  }

  return {
    index,
    origin,
    originKey: nameKey(origin),
    originText: nameToText(origin),
    soa,
    negativeTtl: Math.min(soaTtl, z.soa.minimum),
    negativeSoa: { ...soa, ttl: Math.min(soaTtl, z.soa.minimum) },
    nodes,
  };
}

function compileGtm(g: NonNullable<ZoneConfig['gtm']>[number], name: WireName, gp: Path, issues: DnsConfigIssue[]): GtmSpec | undefined {
  const before = issues.length;
  const regions = new Map<string, number>();
  g.regions.forEach((r, k) => {
    if (regions.has(r.region)) issues.push(new DnsConfigIssue('EP_DNS_ZONE', [...gp, 'regions', k, 'region'], `region ${r.region} appears twice`));
    regions.set(r.region, k);
  });
  const spec: GtmSpec = {
    fqdn: nameToText(name),
    name,
    ttl: g.ttl ?? GTM_DEFAULTS.ttl,
    answers: answersOf(g.answers ?? GTM_DEFAULTS.answers),
    regions: g.regions.map((r, k) => {
      const v4: Buffer[] = [];
      const v6: Buffer[] = [];
      const seen = new Set<string>();
      r.vips.forEach((vip, m) => {
        const a4 = parseIPv4(vip.trim());
        const a6 = a4 ? undefined : parseIPv6(vip.trim());
        if (!a4 && !a6) {
          issues.push(new DnsConfigIssue('EP_DNS_RDATA', [...gp, 'regions', k, 'vips', m], `${JSON.stringify(vip)} is not an IP address`));
          return;
        }
        const key = (a4 ?? a6)!.toString('hex');
        if (seen.has(key)) issues.push(new DnsConfigIssue('EP_DNS_ZONE', [...gp, 'regions', k, 'vips', m], `duplicate VIP ${vip}`));
        seen.add(key);
        (a4 ? v4 : v6).push((a4 ?? a6)!);
      });
      const fallback = r.fallback ?? [];
      fallback.forEach((f, m) => {
        if (f === r.region) issues.push(new DnsConfigIssue('EP_DNS_ZONE', [...gp, 'regions', k, 'fallback', m], 'a region cannot fall back to itself'));
        else if (!regions.has(f)) issues.push(new DnsConfigIssue('EP_DNS_ZONE', [...gp, 'regions', k, 'fallback', m], `region ${f} is not one of this name's regions`));
      });
      return { region: r.region, weight: r.weight, vips: [...r.vips], v4, v6, fallback };
    }),
  };
  return issues.length === before ? spec : undefined;
}

function answersOf(a: number | 'all'): number {
  return a === 'all' ? Infinity : a;
}
