import { test } from 'node:test';
import assert from 'node:assert/strict';

const load = (path: string): Promise<any> => import(new URL(`../../../ui/js/${path}`, import.meta.url).href);

test('the dashboard says "token needed", not "token refused", before any token was given', async () => {
  const { connectionLabel } = await load('format.js');
  assert.equal(connectionLabel('unauthorized', 1, false), '🔒 token needed');
  assert.equal(connectionLabel('unauthorized', 1, true), '✖ token refused');
  assert.equal(connectionLabel('live', 1, true), '● live');
  assert.equal(connectionLabel('reconnecting', 3, true), '⟳ reconnecting (attempt 3)…');
});
