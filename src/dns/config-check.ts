import type { DnsConfig } from '../config/schema/index.ts';
import { parseHostPort, formatHostPort } from '../util/address.ts';
import { DnsError } from './errors.ts';
import { parseCidr } from './geo/cidr.ts';
import { compileZones } from './zone/compile.ts';

export interface DnsIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Everything about `dns:` that JSON Schema can't say: zone consistency (the
 * zone compiler's own checks, so the server and `edgeplane validate` agree),
 * addresses, CIDRs and region references.
 */
export function checkDnsConfig(dns: DnsConfig, nodeRegion: string): DnsIssue[] {
  const issues: DnsIssue[] = [];
  const bound = new Map<string, number>();
  dns.listen.forEach((a, i) => {
    try {
      const hp = parseHostPort(a);
      const key = formatHostPort(hp);
      const prev = bound.get(key);
      if (prev !== undefined && hp.port !== 0) issues.push({ path: ['dns', 'listen', i], message: `${a} is already listed as dns.listen[${prev}]` });
      bound.set(key, i);
    } catch (err) {
      issues.push({ path: ['dns', 'listen', i], message: (err as Error).message });
    }
  });

  for (const issue of compileZones(dns).issues) issues.push({ path: issue.path, message: issue.message });

  const gtmRegions = new Set<string>([nodeRegion]);
  for (const z of dns.zones) for (const g of z.gtm ?? []) for (const r of g.regions) gtmRegions.add(r.region);
  const seen = new Map<string, number>();
  dns.geo?.networks?.forEach((n, i) => {
    try {
      const c = parseCidr(n.cidr);
      const key = `${c.bytes.toString('hex')}/${c.prefix}`;
      const prev = seen.get(key);
      if (prev !== undefined) issues.push({ path: ['dns', 'geo', 'networks', i, 'cidr'], message: `${n.cidr} is already mapped by dns.geo.networks[${prev}]` });
      seen.set(key, i);
    } catch (err) {
      issues.push({ path: ['dns', 'geo', 'networks', i, 'cidr'], message: err instanceof DnsError ? err.message : String(err) });
    }
    if (!gtmRegions.has(n.region)) issues.push({ path: ['dns', 'geo', 'networks', i, 'region'], message: `region "${n.region}" is not served by any GTM name` });
  });
  for (const key of ['countries', 'continents'] as const) {
    for (const [code, region] of Object.entries(dns.geo?.mmdb?.[key] ?? {})) {
      if (!gtmRegions.has(region)) issues.push({ path: ['dns', 'geo', 'mmdb', key, code], message: `region "${region}" is not served by any GTM name` });
    }
  }
  dns.rrl?.exempt?.forEach((cidr, i) => {
    try {
      parseCidr(cidr);
    } catch (err) {
      issues.push({ path: ['dns', 'rrl', 'exempt', i], message: (err as Error).message });
    }
  });
  return issues;
}
