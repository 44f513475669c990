import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findInlineDefaults, type InlineDefault } from './config-defaults.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * `??`/`||` on a config field that is not a config default, each with why.
 * An entry that matches nothing fails the test, so the list stays true.
 */
const NOT_DEFAULTS: { file: string; field: string; why: string }[] = [
  { file: 'src/control/etcd-client.ts', field: 'password', why: 'etcd3 takes a string: a user without a password, not a default password' },
  { file: 'src/cli/demo.ts', field: 'level', why: 'the demo is quieter than a gateway (warn, not the schema\'s info) when its config sets no level' },
  { file: 'src/cli/store.ts', field: 'prefix', why: 'store.etcd.prefix is required: "" (none from the flags or the file) is reported just below' },
  { file: 'src/deploy/orchestrator.ts', field: 'weight', why: 'a color absent from the route\'s split carries weight 0 (an absent entry, not an unset field)' },
];

const excused = (h: InlineDefault) => NOT_DEFAULTS.some((a) => a.file === h.file && a.field === h.field);
const show = (h: InlineDefault) => `${h.file}:${h.line}  ${h.text.replace(/\s+/g, ' ').slice(0, 140)}`;

test('the scanner finds literal and named-constant defaults on schema fields, and nothing else', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'src/schema'), { recursive: true });
  writeFileSync(join(dir, 'src/schema/s.ts'), "export interface Check { interval?: string; retries?: number; name?: string; enabled?: boolean }\n");
  writeFileSync(join(dir, 'src/use.ts'), [
    "import type { Check } from './schema/s.ts';",
    "import { RETRIES } from './consts.ts';",
    "declare function ms(s: string | undefined): number | undefined;",
    "export function f(c: Check, m: Map<string, number>, o: { interval?: string }) {",
    "  const a = c.interval ?? '5s';",                  // config field, literal
    "  const b = c?.retries ?? RETRIES;",               // config field, imported const
    "  const d = ms(c.interval) ?? 5000;",              // a parse of a config field
    "  const e = m.get('x') ?? 0;",                     // absent map entry: not config
    "  const g = o.interval ?? '2s';",                  // not a schema field, but a duration literal
    "  const h = c.name ?? `${a}`;",                    // not a literal
    "  const i = c.name || 'anon';",                    // || counts too
    "  const j = o.interval ?? c.retries ?? 4;",           // the last field of a chain
    "  const k = c.enabled !== false;",                 // a boolean default in disguise
    "  const l = c.name === 'x';",                      // a comparison, not a default
    "  const n = c.interval !== undefined ? ms(c.interval) : RETRIES;", // a default spelled as a conditional
    "  return [a, b, d, e, g, h, i, j, k, l, n];",
    "}",
  ].join('\n'));
  writeFileSync(join(dir, 'src/consts.ts'), 'export const RETRIES = 3;\n');
  const hits = findInlineDefaults(dir, ['src'], 'src/schema');
  assert.deepEqual(hits.map((h) => `${h.line}:${h.field}`), ['5:interval', '6:retries', '7:interval', '9:interval', '11:name', '12:retries', '13:enabled', '15:interval']);
});

test('config defaults are written only in the schema (src/config/schema) and read through resolvers', () => {
  const hits = findInlineDefaults(root, ['src'], 'src/config/schema');
  const offending = hits.filter((h) => !excused(h));
  assert.deepEqual(offending.map(show), [], 'declare the default on the schema field (default: / Duration(desc, dflt)) and read it with defaultsOf in the module\'s resolver');
  const stale = NOT_DEFAULTS.filter((a) => !hits.some((h) => h.file === a.file && h.field === a.field));
  assert.deepEqual(stale, [], 'allow-list entries that match nothing any more: remove them');
});
