import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ClusterConfig } from '../config/schema/index.ts';
import { HealthOptionsError } from './errors.ts';
import type { HttpProbeOptions } from './http-probe.ts';
import { resolveActiveCheck, resolveBreaker, resolveOutlier, resolvePanicThreshold, type ActiveCheckOptions, type BreakerLimits, type OutlierOptions } from './options.ts';
import { UpstreamTls } from '../config/schema/clusters.ts';
import { defaultsOf } from '../config/schema/defaults.ts';

const TLS = defaultsOf(UpstreamTls, ['enabled', 'insecureSkipVerify']);

/** Everything a cluster's config resolves to, computed before anything is applied. */
export interface ResolvedClusterOptions {
  check: ActiveCheckOptions | null;
  tls: HttpProbeOptions['tls'];
  outlier: OutlierOptions | null;
  breaker: BreakerLimits;
  panicThreshold: number;
}

/** Resolves and validates a cluster's health options (throws HealthOptionsError); reads the CA bundle checks need. */
export function resolveClusterOptions(c: ClusterConfig, baseDir: string): ResolvedClusterOptions {
  const check = c.healthCheck ? resolveActiveCheck(c.healthCheck, c.protocol) : null;
  return {
    check,
    tls: check ? checkTls(c, baseDir) : undefined,
    outlier: c.outlierDetection ? resolveOutlier(c.outlierDetection) : null,
    breaker: resolveBreaker(c.circuitBreaker),
    panicThreshold: resolvePanicThreshold(c),
  };
}

function checkTls(c: ClusterConfig, baseDir: string): HttpProbeOptions['tls'] {
  if (!c.tls || !(c.tls.enabled ?? TLS.enabled)) return undefined;
  let ca: Buffer | undefined;
  if (c.tls.ca) {
    try {
      ca = readFileSync(resolve(baseDir, c.tls.ca));
    } catch (err) {
      throw new HealthOptionsError(`cluster ${c.name}: cannot read tls.ca ${c.tls.ca}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return { rejectUnauthorized: !(c.tls.insecureSkipVerify ?? TLS.insecureSkipVerify), ...(c.tls.servername ? { servername: c.tls.servername } : {}), ...(ca ? { ca } : {}) };
}
