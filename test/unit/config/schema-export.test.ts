import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSchema } from '../../../src/config/schema/render.ts';
import { repoRoot } from '../../helpers/gateway-process.ts';

test('schema/edgeplane.schema.json is up to date with the TypeBox schema (run `npm run schema`)', () => {
  const committed = readFileSync(join(repoRoot, 'schema/edgeplane.schema.json'), 'utf8');
  assert.equal(committed, renderSchema());
});
