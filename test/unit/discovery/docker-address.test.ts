import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { containerAddress, matchesLabels, viewOfInspect, type AddressOptions } from '../../../src/discovery/docker-address.ts';
import { parseEngineSocket } from '../../../src/discovery/docker-engine.ts';

const bridge: AddressOptions = { port: 8080, network: 'bridge', published: false, hostAddress: '127.0.0.1' };

function inspect(over: Record<string, unknown> = {}) {
  return viewOfInspect({
    Id: 'abc',
    Name: '/api-blue-1',
    Config: { Labels: { app: 'api' } },
    State: { Status: 'running', Running: true },
    HostConfig: { NetworkMode: 'bridge' },
    NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.5' }, backend: { IPAddress: '10.9.0.7' } }, Ports: { '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '49153' }, { HostIp: '::', HostPort: '49153' }] } },
    ...over,
  });
}

describe('docker discovery: container address mapping', () => {
  it('bridge: the container address on the named network with the service port', () => {
    assert.deepEqual(containerAddress(inspect(), bridge), { address: '172.17.0.5:8080' });
    assert.deepEqual(containerAddress(inspect(), { ...bridge, network: 'backend' }), { address: '10.9.0.7:8080' });
    assert.deepEqual(containerAddress(inspect(), { ...bridge, network: 'missing' }), { skip: 'not attached to network "missing"' });
  });

  it('published: the host port, on hostAddress when bound to every address, else on the bound address', () => {
    assert.deepEqual(containerAddress(inspect(), { ...bridge, published: true }), { address: '127.0.0.1:49153' });
    const bound = inspect({ NetworkSettings: { Ports: { '8080/tcp': [{ HostIp: '127.0.0.2', HostPort: '40000' }] } } });
    assert.deepEqual(containerAddress(bound, { ...bridge, published: true }), { address: '127.0.0.2:40000' });
    assert.deepEqual(containerAddress(inspect({ NetworkSettings: { Ports: { '8080/tcp': null } } }), { ...bridge, published: true }), { skip: 'port 8080/tcp is not published' });
  });

  it('host networking: hostAddress with the port, the edgeplane.port label overriding it per replica', () => {
    const host = inspect({ HostConfig: { NetworkMode: 'host' }, NetworkSettings: { Networks: { host: {} } } });
    assert.deepEqual(containerAddress(host, { ...bridge, network: 'host' }), { address: '127.0.0.1:8080' });
    const labelled = inspect({ Config: { Labels: { 'edgeplane.port': '9201' } }, HostConfig: { NetworkMode: 'host' } });
    assert.deepEqual(containerAddress(labelled, { ...bridge, network: 'host' }), { address: '127.0.0.1:9201' });
    const bad = inspect({ Config: { Labels: { 'edgeplane.port': 'http' } }, HostConfig: { NetworkMode: 'host' } });
    assert.ok('skip' in containerAddress(bad, { ...bridge, network: 'host' }));
    assert.deepEqual(containerAddress(host, { ...bridge, network: 'host', hostAddress: '::1' }), { address: '[::1]:8080' });
  });

  it('only running containers that are healthy (or have no health check) are endpoints', () => {
    assert.deepEqual(containerAddress(inspect({ State: { Status: 'exited', Running: false } }), bridge), { skip: 'not running' });
    for (const [status, ok] of [['healthy', true], ['unhealthy', false], ['starting', false], ['none', true]] as const) {
      const c = inspect({ State: { Status: 'running', Running: true, Health: { Status: status } } });
      assert.equal('address' in containerAddress(c, bridge), ok, status);
    }
  });

  it('labels must all match; sockets parse or are refused with the expected form', () => {
    assert.equal(matchesLabels({ app: 'api', color: 'blue', x: '1' }, { app: 'api', color: 'blue' }), true);
    assert.equal(matchesLabels({ app: 'api', color: 'green' }, { app: 'api', color: 'blue' }), false);
    assert.equal(matchesLabels(undefined, { app: 'api' }), false);
    assert.deepEqual(parseEngineSocket('unix:///var/run/docker.sock'), { socketPath: '/var/run/docker.sock', display: 'unix:///var/run/docker.sock' });
    assert.deepEqual(parseEngineSocket('http://127.0.0.1:2375'), { host: '127.0.0.1', port: 2375, display: 'http://127.0.0.1:2375' });
    assert.throws(() => parseEngineSocket('unix://relative.sock'), /absolute/);
    assert.throws(() => parseEngineSocket('ftp://x'), /expected unix/);
  });
});
