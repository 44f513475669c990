import { parseHostPort, isLoopback } from '../util/address.ts';
import type { Config } from './schema/index.ts';
import type { RawIssue } from './issue.ts';
import { checkJwtConfig } from '../edge/jwt/config-check.ts';
import { checkHealthConfig } from '../health/config-check.ts';
import { checkDnsConfig } from '../dns/config-check.ts';
import { checkGossipConfig } from '../gossip/config-check.ts';
import { checkUnits } from './unit-check.ts';
import { checkRateLimits } from '../edge/rate-limit/config-check.ts';

export type { RawIssue } from './issue.ts';

/**
 * Checks that JSON Schema can't express: references between sections, unique
 * names, regexes that compile, addresses that parse. Runs on schema-valid config.
 */
export function crossCheck(config: Config): RawIssue[] {
  const issues: RawIssue[] = [];
  const clusterNames = uniqueNames(config.clusters, ['clusters'], 'cluster', issues);
  uniqueNames(config.listeners, ['listeners'], 'listener', issues);
  uniqueNames(config.routes, ['routes'], 'route', issues);
  const providerNames = uniqueNames(config.jwt?.providers ?? [], ['jwt', 'providers'], 'JWT provider', issues);

  const boundAddresses = new Map<string, number>();
  config.listeners.forEach((l, i) => {
    checkAddress(l.address, ['listeners', i, 'address'], issues);
    // Port 0 asks the OS for a free port, so two such listeners never collide.
    const prev = l.address.endsWith(':0') ? undefined : boundAddresses.get(l.address);
    if (prev !== undefined) issues.push({ path: ['listeners', i, 'address'], message: `address ${l.address} is already used by listeners[${prev}]` });
    boundAddresses.set(l.address, i);
    if (l.protocol === 'https' && !l.tls) issues.push({ path: ['listeners', i], message: 'an https listener needs tls.certificates' });
    if (l.protocol === 'http' && l.tls) issues.push({ path: ['listeners', i, 'tls'], message: 'tls is only valid with protocol: https' });
  });

  config.clusters.forEach((c, i) => {
    const sources = [c.endpoints ? 'endpoints' : '', c.discovery?.dns ? 'discovery.dns' : '', c.discovery?.kubernetes ? 'discovery.kubernetes' : '', c.discovery?.file ? 'discovery.file' : '', c.discovery?.docker ? 'discovery.docker' : ''].filter(Boolean);
    if (sources.length === 0) issues.push({ path: ['clusters', i], message: 'a cluster needs endpoints or one discovery source' });
    if (sources.length > 1) issues.push({ path: ['clusters', i], message: `a cluster takes exactly one endpoint source, got ${sources.join(' and ')}` });
    c.endpoints?.forEach((e, j) => checkAddress(e, ['clusters', i, 'endpoints', j], issues));
    const seen = new Set<string>();
    c.endpoints?.forEach((e, j) => {
      if (seen.has(e)) issues.push({ path: ['clusters', i, 'endpoints', j], message: `duplicate endpoint ${e}` });
      seen.add(e);
    });
  });

  config.routes.forEach((r, i) => {
    const base = ['routes', i];
    const inSplit = new Set<string>();
    let total = 0;
    r.split.forEach((s, j) => {
      if (!clusterNames.has(s.cluster)) issues.push({ path: [...base, 'split', j, 'cluster'], message: `unknown cluster "${s.cluster}"` });
      if (inSplit.has(s.cluster)) issues.push({ path: [...base, 'split', j, 'cluster'], message: `cluster "${s.cluster}" appears twice in the split` });
      inSplit.add(s.cluster);
      total += s.weight;
    });
    if (total <= 0) issues.push({ path: [...base, 'split'], message: 'the split\'s weights must add up to more than 0' });
    const path = r.match.path;
    if (path && 'regex' in path) checkRegex(path.regex, [...base, 'match', 'path', 'regex'], issues);
    r.match.headers?.forEach((h, j) => {
      const kinds = ['exact', 'prefix', 'regex', 'present'].filter((k) => (h as Record<string, unknown>)[k] !== undefined);
      if (kinds.length !== 1) issues.push({ path: [...base, 'match', 'headers', j], message: 'a header match takes exactly one of exact, prefix, regex, present' });
      if (h.regex !== undefined) checkRegex(h.regex, [...base, 'match', 'headers', j, 'regex'], issues);
    });
    r.match.hosts?.forEach((h, j) => {
      if (h.includes('*') && !(h.startsWith('*.') && !h.slice(2).includes('*'))) {
        issues.push({ path: [...base, 'match', 'hosts', j], message: 'a wildcard host must have the form *.example.com' });
      }
    });
    if (r.sticky && (r.sticky.cookie === undefined) === (r.sticky.header === undefined)) {
      issues.push({ path: [...base, 'sticky'], message: 'sticky takes exactly one of cookie or header' });
    }
    if (r.rateLimit) issues.push(...checkRateLimits(r, base));
    r.webSocket?.tokenFrom?.forEach((l, j) => {
      const path = [...base, 'webSocket', 'tokenFrom', j];
      const kinds = [l.header, l.cookie, l.query, l.protocol].filter((k) => k !== undefined).length;
      if (kinds !== 1) issues.push({ path, message: 'a token location takes exactly one of header, cookie, query, protocol' });
      if (l.prefix !== undefined && l.header === undefined) issues.push({ path: [...path, 'prefix'], message: 'prefix only applies to a header location' });
    });
    if (r.webSocket?.tokenFrom && !r.auth) issues.push({ path: [...base, 'webSocket', 'tokenFrom'], message: 'tokenFrom needs the route to have auth' });
  });

  // DNS: listen addresses, zone consistency (the zone compiler's own checks), geo and RRL: see src/dns/config-check.ts.
  if (config.dns) issues.push(...checkDnsConfig(config.dns, config.node.region));
  if (config.admin?.address) checkAddress(config.admin.address, ['admin', 'address'], issues);
  // The admin API changes the config: off loopback it must have a token (the gateway refuses to start without one too).
  if (config.admin?.address && !config.admin.token) {
    try {
      if (!isLoopback(parseHostPort(config.admin.address).host)) {
        issues.push({ path: ['admin'], message: `admin.address ${config.admin.address} is not a loopback address: set admin.token` });
      }
    } catch {
      // reported by checkAddress
    }
  }
  // Gossip: addresses, AES keys, no gossip off loopback without a key: see src/gossip/config-check.ts.
  if (config.gossip) issues.push(...checkGossipConfig(config.gossip));
  // JWT providers and route auth (unknown providers, key sources, algorithms): see jwt-check.ts.
  issues.push(...checkJwtConfig(config));
  issues.push(...checkHealthConfig(config));
  checkUnits(config, issues);
  return issues;
}

function uniqueNames(items: { name: string }[], path: (string | number)[], what: string, issues: RawIssue[]): Set<string> {
  const names = new Set<string>();
  items.forEach((item, i) => {
    if (names.has(item.name)) issues.push({ path: [...path, i, 'name'], message: `duplicate ${what} name "${item.name}"` });
    names.add(item.name);
  });
  return names;
}

function checkAddress(text: string, path: (string | number)[], issues: RawIssue[]): void {
  try {
    parseHostPort(text);
  } catch (err) {
    issues.push({ path, message: (err as Error).message });
  }
}

function checkRegex(source: string, path: (string | number)[], issues: RawIssue[]): void {
  try {
    new RegExp(source);
  } catch (err) {
    issues.push({ path, message: `invalid regular expression: ${(err as Error).message}` });
  }
}
