import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatDeployFrame, deployFinished } from '../../../src/cli/deploy-progress.ts';
import type { DeployView } from '../../../src/deploy/view.ts';

const base: DeployView = {
  id: 'dep-2', kind: 'deploy', unit: 'api', route: 'api', image: 'api:v2', strategy: 'blue-green',
  from: { color: 'blue', cluster: 'api-blue' }, to: { color: 'green', cluster: 'api-green' },
  phase: 'readying', reason: 'waiting', outcome: null, replicas: 2,
  containers: [{ id: 'a', name: 'api-green-dep-2-0' }, { id: 'b', name: 'api-green-dep-2-1' }],
  release: null, readinessLeftMs: 65_000, timings: {}, author: 'ops', createdAt: '', updatedAt: '', history: [],
};

describe('release deploy: progress display', () => {
  it('while readying: containers started and the readiness time left', () => {
    const f = formatDeployFrame(base, 0);
    assert.equal(f[0], 'dep-2  unit api  blue -> green  api:v2  blue-green');
    assert.equal(f[1], '  step:       readying: 2/2 container(s) of green, 1m 05s left to be ready');
    assert.ok(f.includes('  containers: api-green-dep-2-0, api-green-dep-2-1'));
    assert.equal(deployFinished(base), false);
  });

  it('while releasing: the release step, weights, gate readings and the window left', () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    const v = {
      ...base, phase: 'releasing', readinessLeftMs: null,
      release: {
        id: 'rel-4', phase: 'progressing', target: 'api-green', step: { index: 0, count: 1, percent: 100 },
        weights: [{ cluster: 'api-blue', weight: 0 }, { cluster: 'api-green', weight: 100 }],
        window: { startedAt: '2026-01-01T00:00:00Z', duration: '3m', durationMs: 180_000, endsAt: '2026-01-01T00:03:00Z' },
        readings: { requests: 120, errorRate: 0, p99Ms: 12, ejections: 0, healthy: 2, total: 2, verdict: 'pending' },
      },
    } as unknown as DeployView;
    const f = formatDeployFrame(v, now);
    assert.ok(f.includes('  step:       releasing: release rel-4 progressing step 1/1 (api-green 100%)'), f.join('\n'));
    assert.ok(f.includes('  weights:    api-blue 0 / api-green 100'));
    assert.ok(f.includes('  gates:      120 requests, 0% errors, p99 12ms, 0 ejections, 2/2 healthy -> pending'));
    assert.ok(f.includes('  window:     2m 50s left of 3m'));
  });

  it('finished: timings per step', () => {
    const v = { ...base, phase: 'succeeded', readinessLeftMs: null, timings: { containersStarted: 1200, ready: 1900, full: 2100, done: 9000 } } as DeployView;
    assert.equal(deployFinished(v), true);
    assert.ok(formatDeployFrame(v, 0).includes('  timings:    containersStarted 1.2s, ready 1.9s, full 2.1s, done 9.0s'));
  });
});
