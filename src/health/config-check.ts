import { parseHostPort } from '../util/address.ts';
import { parseDuration } from '../util/duration.ts';
import type { Config, ClusterConfig } from '../config/schema/index.ts';
import type { RawIssue } from '../config/issue.ts';
import { resolveDnsDiscovery } from '../discovery/options.ts';
import { CLUSTER_DEFAULTS, OUTLIER_DEFAULTS } from './options.ts';

type Path = (string | number)[];

/**
 * Cross-checks of the health-related config: active checks, outlier
 * detection, discovery sources and the region thresholds. The same relations
 * are enforced again when the health module resolves its options, but here
 * they come out with a path and line.
 */
export function checkHealthConfig(config: Config): RawIssue[] {
  const issues: RawIssue[] = [];
  config.clusters.forEach((c, i) => checkCluster(c, ['clusters', i], issues));
  const t = config.health?.regionThresholds;
  if (t && t.degraded !== undefined && t.down !== undefined && t.down > t.degraded) {
    issues.push({ path: ['health', 'regionThresholds', 'down'], message: `down (${t.down}) must not be above degraded (${t.degraded})` });
  }
  return issues;
}

function ms(text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseDuration(text);
}

function checkCluster(c: ClusterConfig, base: Path, issues: RawIssue[]): void {
  const hc = c.healthCheck;
  if (hc) {
    const p = [...base, 'healthCheck'];
    const type = hc.type ?? (hc.grpc !== undefined ? 'grpc' : 'http');
    if (type !== 'http') {
      for (const k of ['path', 'host', 'expectedStatuses', 'bodyMatch'] as const) {
        if (hc[k] !== undefined) issues.push({ path: [...p, k], message: `${k} only applies to type: http` });
      }
    }
    if (type !== 'grpc' && hc.grpc !== undefined) issues.push({ path: [...p, 'grpc'], message: `grpc does not apply to type: ${type}` });
    if (type === 'grpc' && (c.protocol ?? CLUSTER_DEFAULTS.protocol) === 'http1') issues.push({ path: [...p, 'type'], message: 'gRPC health checks need the cluster\'s protocol to be h2 or h2c' });
    for (const k of ['interval', 'timeout', 'noTrafficInterval'] as const) {
      if (hc[k] !== undefined && ms(hc[k]) === 0) issues.push({ path: [...p, k], message: 'must be greater than 0' });
    }
    hc.expectedStatuses?.forEach((s, j) => {
      if (typeof s === 'string') {
        const [lo, hi] = s.split('-').map(Number);
        if (lo! > hi!) issues.push({ path: [...p, 'expectedStatuses', j], message: `range ${s} is empty` });
      }
    });
  }
  const od = c.outlierDetection;
  if (od) {
    const p = [...base, 'outlierDetection'];
    for (const k of ['interval', 'baseEjectionTime', 'maxEjectionTime'] as const) {
      if (od[k] !== undefined && ms(od[k]) === 0) issues.push({ path: [...p, k], message: 'must be greater than 0' });
    }
    const baseEjection = od.baseEjectionTime ?? OUTLIER_DEFAULTS.baseEjectionTime;
    if (parseDuration(od.maxEjectionTime ?? OUTLIER_DEFAULTS.maxEjectionTime) < parseDuration(baseEjection)) {
      issues.push({ path: [...p, 'maxEjectionTime'], message: `must not be less than baseEjectionTime (${baseEjection})` });
    }
    if (od.consecutiveLocalOriginFailure !== undefined && !od.splitExternalLocalOriginErrors) {
      issues.push({ path: [...p, 'consecutiveLocalOriginFailure'], message: 'only counts with splitExternalLocalOriginErrors: true' });
    }
  }
  const d = c.discovery;
  if (d?.dns) {
    const p = [...base, 'discovery', 'dns'];
    const dns = resolveDnsDiscovery(d.dns);
    const type = dns.type;
    if (type !== 'SRV' && d.dns.port === undefined) issues.push({ path: p, message: `type ${type} needs a port (SRV records carry their own)` });
    if (type === 'SRV' && d.dns.port !== undefined) issues.push({ path: [...p, 'port'], message: 'SRV records carry their own ports; remove port' });
    if (!/^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/.test(d.dns.name)) {
      issues.push({ path: [...p, 'name'], message: `not a valid DNS name: ${JSON.stringify(d.dns.name)}` });
    }
    d.dns.resolvers?.forEach((r, j) => {
      try {
        parseHostPort(r, 53);
      } catch (err) {
        issues.push({ path: [...p, 'resolvers', j], message: (err as Error).message });
      }
    });
    if (dns.minIntervalMs > dns.maxIntervalMs) issues.push({ path: [...p, 'minInterval'], message: 'must not exceed maxInterval' });
    if (d.dns.timeout !== undefined && ms(d.dns.timeout) === 0) issues.push({ path: [...p, 'timeout'], message: 'must be greater than 0' });
  }
  if (d?.kubernetes?.apiServer !== undefined) {
    const p = [...base, 'discovery', 'kubernetes', 'apiServer'];
    try {
      const u = new URL(d.kubernetes.apiServer);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') issues.push({ path: p, message: 'must be an http(s) URL' });
    } catch {
      issues.push({ path: p, message: `invalid URL ${JSON.stringify(d.kubernetes.apiServer)}` });
    }
  }
  if (d?.kubernetes?.context !== undefined && d.kubernetes.kubeconfig === undefined) {
    issues.push({ path: [...base, 'discovery', 'kubernetes', 'context'], message: 'context only applies with kubeconfig' });
  }
  if (d?.file?.pollInterval !== undefined && ms(d.file.pollInterval) === 0) {
    issues.push({ path: [...base, 'discovery', 'file', 'pollInterval'], message: 'must be greater than 0' });
  }
}
