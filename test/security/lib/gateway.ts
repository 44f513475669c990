import { join } from 'node:path';
import { repoRoot, startGateway as start, type GatewayProcess } from '../../helpers/gateway-process.ts';

export { repoRoot, type GatewayProcess };

/** startGateway with a start-up deadline that survives a loaded CI machine (2 minutes unless told). */
export function startGateway(config: unknown, options: Parameters<typeof start>[1] = {}): Promise<GatewayProcess> {
  return start(config, { timeoutMs: 120_000, ...options });
}

/** The development certificate (api.svc.plus, *.svc.plus, localhost) for a TLS listener. */
export function devTls(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { certificates: [{ cert: join(repoRoot, 'certs-dev/server.crt'), key: join(repoRoot, 'certs-dev/server.key') }], ...extra };
}

/** The development JWT provider `main` (certs-dev/jwks.json) with sub and scope copied to X-JWT-Sub / X-JWT-Scope. */
export function devJwt(): Record<string, unknown> {
  return {
    providers: [
      {
        name: 'main',
        issuer: 'https://auth.svc.plus/',
        audiences: ['api.svc.plus'],
        jwks: { file: join(repoRoot, 'certs-dev/jwks.json') },
        claimsToHeaders: [{ claim: 'sub', header: 'x-jwt-sub' }, { claim: 'scope', header: 'x-jwt-scope' }],
      },
    ],
  };
}

/**
 * The attacker's target: a protected host, a protected path on an open host,
 * an open path and a catch-all, all on one upstream, so that "what reached the
 * upstream" shows which route let a request through.
 *   secure.svc.plus/*      JWT
 *   api.svc.plus/admin/*   JWT
 *   api.svc.plus/public/*  open
 *   any other host /*      open (catch-all)
 */
export function attackRoutes(cluster: string): Record<string, unknown>[] {
  const to = [{ cluster, weight: 1 }];
  return [
    { name: 'secure', match: { hosts: ['secure.svc.plus'], path: { prefix: '/' } }, split: to, auth: { jwt: 'main' } },
    { name: 'admin', match: { hosts: ['api.svc.plus'], path: { prefix: '/admin' } }, split: to, auth: { jwt: 'main' } },
    { name: 'public', match: { hosts: ['api.svc.plus'], path: { prefix: '/public' } }, split: to },
    { name: 'api-rest', match: { hosts: ['api.svc.plus'], path: { prefix: '/' } }, split: to },
    { name: 'catch-all', match: { path: { prefix: '/' } }, split: to },
  ];
}
