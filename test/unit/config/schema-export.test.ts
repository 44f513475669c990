import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSchema } from '../../../src/config/schema/render.ts';
import { renderReference } from '../../../src/config/schema/reference.ts';
import { repoRoot } from '../../helpers/gateway-process.ts';

test('schema/edgeplane.schema.json is up to date with the TypeBox schema (run `npm run schema`)', () => {
  assert.equal(readFileSync(join(repoRoot, 'schema/edgeplane.schema.json'), 'utf8'), renderSchema());
});

test('docs/config-reference.md is up to date with the schema (run `npm run schema`)', () => {
  assert.equal(readFileSync(join(repoRoot, 'docs/config-reference.md'), 'utf8'), renderReference());
});
