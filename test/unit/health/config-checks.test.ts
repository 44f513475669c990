import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/util/errors.ts';

function issues(yaml: string): string[] {
  try {
    parseConfig(yaml, { name: 'test.yaml' });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}${i.line ? `@${i.line}` : ''}: ${i.message}`);
    throw err;
  }
}

const base = `node: { id: gw, region: jp }
listeners: []
routes: []
`;

test('a full health config is accepted', () => {
  assert.deepEqual(
    issues(`${base}clusters:
  - name: a
    endpoints: [127.0.0.1:1]
    healthCheck: { type: http, path: /readyz, host: api.svc.plus, expectedStatuses: [200, "204-206"], bodyMatch: ok, interval: 2s, noTrafficInterval: 30s, jitter: 200ms, timeout: 1s, healthyThreshold: 2, unhealthyThreshold: 3, startHealthy: true }
    outlierDetection: { consecutive5xx: 5, consecutiveGatewayFailure: 5, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailure: 3, interval: 10s, baseEjectionTime: 30s, maxEjectionTime: 5m, maxEjectionTimeJitter: 1s, maxEjectionPercent: 10, alwaysEjectOneHost: true }
    circuitBreaker: { maxConnections: 10, maxPendingRequests: 10, maxRequests: 10, maxRetries: 2 }
    panicThreshold: 30
  - name: b
    discovery: { dns: { name: _http._tcp.api.svc.test, type: SRV, resolvers: [127.0.0.1:53], minInterval: 1s, maxInterval: 1m, timeout: 500ms } }
  - name: c
    discovery: { kubernetes: { namespace: prod, service: api, port: http, kubeconfig: ~/.kube/config, context: prod } }
  - name: d
    discovery: { file: { path: /run/edgeplane/blue.txt, pollInterval: 1s } }
health: { regionThresholds: { degraded: 80, down: 30 } }
`),
    [],
  );
});

test('relations the schema cannot express are reported with path and line', () => {
  const out = issues(`${base}clusters:
  - name: a
    endpoints: [127.0.0.1:1]
    healthCheck: { type: tcp, path: /readyz, interval: 0s }
    outlierDetection: { baseEjectionTime: 1m, maxEjectionTime: 30s, consecutiveLocalOriginFailure: 3 }
  - name: b
    discovery: { dns: { name: api.svc.test } }
  - name: c
    discovery: { dns: { name: "bad name!", type: SRV, port: 80, minInterval: 2m, maxInterval: 1m } }
  - name: d
    discovery: { kubernetes: { namespace: p, service: s, apiServer: "ftp://x", context: x } }
health: { regionThresholds: { degraded: 20, down: 50 } }
`);
  const expect = [
    /clusters\[0\]\.healthCheck\.path@7: path only applies to type: http/,
    /clusters\[0\]\.healthCheck\.interval@7: must be greater than 0/,
    /clusters\[0\]\.outlierDetection\.maxEjectionTime@8: must not be less than baseEjectionTime/,
    /clusters\[0\]\.outlierDetection\.consecutiveLocalOriginFailure@8: only counts with splitExternalLocalOriginErrors/,
    /clusters\[1\]\.discovery\.dns@10: type A needs a port/,
    /clusters\[2\]\.discovery\.dns\.port@12: SRV records carry their own ports/,
    /clusters\[2\]\.discovery\.dns\.name@12: not a valid DNS name/,
    /clusters\[2\]\.discovery\.dns\.minInterval@12: must not exceed maxInterval/,
    /clusters\[3\]\.discovery\.kubernetes\.apiServer@14: must be an http\(s\) URL/,
    /clusters\[3\]\.discovery\.kubernetes\.context@14: context only applies with kubeconfig/,
    /health\.regionThresholds\.down@15: down \(50\) must not be above degraded \(20\)/,
  ];
  for (const re of expect) assert.ok(out.some((l) => re.test(l)), `${re} in\n${out.join('\n')}`);
  assert.equal(out.length, expect.length, out.join('\n'));
});

test('unknown keys and bad values in the health sections are schema errors', () => {
  const out = issues(`${base}clusters:
  - name: a
    endpoints: [127.0.0.1:1]
    healthCheck: { intervall: 2s, expectedStatuses: ["2xx"] }
    outlierDetection: { maxEjectionPercent: 150 }
`);
  assert.ok(out.some((l) => /healthCheck.*unknown key "intervall"/.test(l)), out.join('\n'));
  assert.ok(out.some((l) => /expectedStatuses/.test(l)), out.join('\n'));
  assert.ok(out.some((l) => /maxEjectionPercent/.test(l)), out.join('\n'));
});
