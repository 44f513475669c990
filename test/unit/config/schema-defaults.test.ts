import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { defaultsOf, SchemaDefaultError } from '../../../src/config/schema/defaults.ts';
import { Obj, Duration } from '../../../src/config/schema/common.ts';

const S = Obj({
  interval: Type.Optional(Duration('between checks', '5s')),
  retries: Type.Optional(Type.Integer({ minimum: 0, default: 3 })),
  name: Type.Optional(Type.String()),
  bad: Type.Optional(Type.Integer({ minimum: 1, default: 0 })),
});

test('defaultsOf returns the defaults the schema declares on the named fields', () => {
  const d = defaultsOf(S, ['interval', 'retries']);
  assert.deepEqual({ ...d }, { interval: '5s', retries: 3 });
  assert.ok(Object.isFrozen(d));
});

test('defaultsOf refuses a field without a default, an unknown field and a default the field rejects', () => {
  assert.throws(() => defaultsOf(S, ['name']), (e: unknown) => e instanceof SchemaDefaultError && e.code === 'EP_SCHEMA_DEFAULT' && /name declares no default/.test(e.message));
  assert.throws(() => defaultsOf(S, ['nope' as 'name']), /no field nope/);
  assert.throws(() => defaultsOf(S, ['bad']), /default of schema field bad \(0\) does not satisfy/);
});

test('every default declared in the config schema satisfies its own field', async () => {
  const { ConfigSchema } = await import('../../../src/config/schema/index.ts');
  const { Value } = await import('@sinclair/typebox/value');
  type Node = { default?: unknown; properties?: Record<string, Node>; items?: Node; anyOf?: Node[] };
  const seen: string[] = [];
  const bad: string[] = [];
  const walk = (s: Node, path: string): void => {
    if (s.default !== undefined) {
      seen.push(path);
      if (!Value.Check(s as never, s.default)) bad.push(`${path}: ${JSON.stringify(s.default)}`);
    }
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, path ? `${path}.${k}` : k);
    if (s.items) walk(s.items, `${path}[]`);
    for (const b of s.anyOf ?? []) walk(b, path);
  };
  walk(ConfigSchema as unknown as Node, '');
  assert.ok(seen.includes('clusters[].healthCheck.interval') && seen.includes('drain.timeout'), 'durations declare their defaults');
  assert.deepEqual(bad, []);
});
