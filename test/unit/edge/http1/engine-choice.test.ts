import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineOf } from '../../../../src/edge/http1/engine-pools.ts';
import type { Config } from '../../../../src/config/schema/index.ts';

const config = (engine?: 'node' | 'native') => ({ ...(engine ? { engine } : {}) }) as unknown as Config;

test('engine: native is the default; node stays selectable by config or EDGEPLANE_ENGINE', () => {
  assert.equal(engineOf(config(), {}), 'native');
  assert.equal(engineOf(config(), { EDGEPLANE_ENGINE: 'node' }), 'node');
  assert.equal(engineOf(config(), { EDGEPLANE_ENGINE: 'native' }), 'native');
  assert.equal(engineOf(config('node'), { EDGEPLANE_ENGINE: 'native' }), 'node');
  assert.equal(engineOf(config('native'), { EDGEPLANE_ENGINE: 'node' }), 'native');
  assert.throws(() => engineOf(config(), { EDGEPLANE_ENGINE: 'nodejs' }), /EDGEPLANE_ENGINE must be node or native/);
});
