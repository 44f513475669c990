import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/util/errors.ts';
import type { UnitConfig } from '../../../src/config/schema/index.ts';
import { bytes, containerBody, containerName, replicaPort } from '../../../src/deploy/container-spec.ts';
import { splitImage } from '../../../src/deploy/runtime.ts';

const yaml = (unit: string, clusters = defaultClusters) => `
node: { id: gw, region: jp }
listeners: [ { name: http, address: 127.0.0.1:0, protocol: http } ]
clusters:
${clusters}
routes:
  - { name: api, match: { path: { prefix: / } }, split: [ { cluster: api-blue, weight: 100 }, { cluster: api-green, weight: 0 } ] }
units:
${unit}
`;
const defaultClusters = `
  - { name: api-blue, discovery: { docker: { labels: { edgeplane.unit: api, edgeplane.color: blue }, port: 8080, network: host } } }
  - { name: api-green, discovery: { docker: { labels: { edgeplane.unit: api, edgeplane.color: green }, port: 8080, network: host } } }`;
const hostUnit = `
  - name: api
    route: api
    colors: [ { name: blue, cluster: api-blue, hostPorts: [9101, 9102] }, { name: green, cluster: api-green, hostPorts: [9201, 9202] } ]
    template: { image: "api:v1", command: [serve, "--port={{port}}"], port: 8080, replicas: 2, network: host }`;

function issues(text: string): string[] {
  try {
    parseConfig(text, { env: {} });
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

describe('units: config checks', () => {
  it('a unit whose colors are docker-discovered clusters of its route is valid', () => {
    assert.deepEqual(issues(yaml(hostUnit)), []);
  });

  it('names the path and the reason for each broken reference', () => {
    const broken = hostUnit.replace('route: api', 'route: web').replace('cluster: api-green, hostPorts: [9201, 9202]', 'cluster: api-green, hostPorts: [9201]');
    const got = issues(yaml(broken));
    assert.ok(got.some((i) => /^units\[0\]\.route: no route named "web"/.test(i)), got.join('\n'));
    assert.ok(got.some((i) => /^units\[0\]\.colors\[1\]\.hostPorts: host networking: 2 replica\(s\) need 2 hostPorts/.test(i)), got.join('\n'));
  });

  it('refuses a color cluster that would not find the containers the deploy makes', () => {
    const clusters = defaultClusters.replace('edgeplane.color: green }', 'edgeplane.color: verde }');
    const got = issues(yaml(hostUnit, clusters));
    assert.ok(got.some((i) => /colors\[1\]\.cluster: cluster "api-green" selects edgeplane\.color=verde/.test(i)), got.join('\n'));
    const staticCluster = defaultClusters.replace(/- \{ name: api-green.*$/m, '- { name: api-green, endpoints: [127.0.0.1:9201] }');
    assert.ok(issues(yaml(hostUnit, staticCluster)).some((i) => /needs discovery\.docker/.test(i)));
  });

  it('refuses shared host ports between colors', () => {
    const got = issues(yaml(hostUnit.replace('hostPorts: [9201, 9202]', 'hostPorts: [9102, 9202]')));
    assert.ok(got.some((i) => /every replica of both colors needs its own port/.test(i)), got.join('\n'));
  });
});

const unit = (over: Partial<UnitConfig['template']> = {}): UnitConfig => ({
  name: 'api',
  route: 'api',
  colors: [{ name: 'blue', cluster: 'api-blue', hostPorts: [9101, 9102] }, { name: 'green', cluster: 'api-green', hostPorts: [9201, 9202] }],
  template: { image: 'api:v1', port: 8080, command: ['serve', '--port={{port}}'], ...over },
});

describe('units: container bodies', () => {
  it('host networking: each replica on its color\'s port, named in a label and PORT, {{port}} filled in', () => {
    const b = containerBody(unit({ network: 'host' }), 'green', 'api:v2', 1, 'dep-7') as any;
    assert.equal(b.Image, 'api:v2');
    assert.deepEqual(b.Cmd, ['serve', '--port=9202']);
    assert.ok(b.Env.includes('PORT=9202'));
    assert.deepEqual(b.Labels, { 'edgeplane.unit': 'api', 'edgeplane.color': 'green', 'edgeplane.release': 'dep-7', 'edgeplane.replica': '1', 'edgeplane.port': '9202' });
    assert.equal(b.HostConfig.NetworkMode, 'host');
    assert.equal(b.ExposedPorts, undefined);
    assert.equal(replicaPort(unit({ network: 'host' }), 'blue', 0), 9101);
    assert.throws(() => replicaPort(unit({ network: 'host' }), 'blue', 2), /no hostPorts\[2\]/);
  });

  it('bridge: the template port exposed, published on loopback with a daemon-chosen port when asked', () => {
    const b = containerBody(unit({ publish: true, env: { PORT: '9999', MODE: 'prod' } }), 'blue', 'api:v2', 0, 'dep-1') as any;
    assert.equal(b.HostConfig.NetworkMode, 'bridge');
    assert.deepEqual(b.ExposedPorts, { '8080/tcp': {} });
    assert.deepEqual(b.HostConfig.PortBindings, { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
    assert.deepEqual(b.Cmd, ['serve', '--port=8080']);
    assert.ok(b.Env.includes('PORT=9999') && b.Env.includes('MODE=prod'), 'env given wins over the default PORT');
    assert.equal(b.Labels['edgeplane.port'], undefined);
  });

  it('health check in nanoseconds, limits in bytes and nano-CPUs, stop timeout in seconds', () => {
    const b = containerBody(unit({ healthCheck: { command: ['wget', '-q', 'http://127.0.0.1:{{port}}/readyz'], interval: '500ms', retries: 2 }, resources: { memory: '256m', cpus: 0.5, pids: 64 }, stopTimeout: '1500ms' }), 'blue', 'x', 0, 'dep-1') as any;
    assert.deepEqual(b.Healthcheck, { Test: ['CMD', 'wget', '-q', 'http://127.0.0.1:8080/readyz'], Interval: 500_000_000, Timeout: 2_000_000_000, Retries: 2, StartPeriod: 0 });
    assert.equal(b.HostConfig.Memory, 256 * 1024 * 1024);
    assert.equal(b.HostConfig.NanoCpus, 500_000_000);
    assert.equal(b.HostConfig.PidsLimit, 64);
    assert.equal(b.StopTimeout, 2);
    assert.equal(bytes('1g'), 1024 ** 3);
    assert.equal(containerName(unit(), 'green', 'dep-3', 1), 'api-green-dep-3-1');
  });

  it('image references split into name and tag the way a pull wants them', () => {
    assert.deepEqual(splitImage('registry.local:5000/api:v2'), { name: 'registry.local:5000/api', tag: 'v2' });
    assert.deepEqual(splitImage('registry.local:5000/api'), { name: 'registry.local:5000/api', tag: 'latest' });
    assert.deepEqual(splitImage('api@sha256:abc'), { name: 'api@sha256:abc', tag: '' });
  });
});
