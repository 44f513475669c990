import { ConfigSchema } from './index.ts';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  additionalProperties?: boolean | JsonSchema;
}

/** Markdown config reference generated from the schema (docs/config-reference.md). */
export function renderReference(): string {
  const rows: string[] = [];
  walk(ConfigSchema as unknown as JsonSchema, '', true, rows);
  return [
    '# Configuration reference',
    '',
    'Generated from the JSON Schema by `npm run schema`; do not edit by hand.',
    'Durations are strings such as `250ms`, `2s`, `1m`; `${ENV}` and `${ENV:-default}` are interpolated in values.',
    'Unknown keys are errors. `[]` marks a list item.',
    'The default column is what the gateway applies: each default is declared once, on its schema field, and the code reads it from there (`defaultsOf`, src/config/schema/defaults.ts).',
    '',
    '| key | type | required | default | description |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

function walk(schema: JsonSchema, path: string, required: boolean, rows: string[]): void {
  if (path) rows.push(`| \`${path}\` | ${typeOf(schema)} | ${required ? 'yes' : ''} | ${schema.default !== undefined ? `\`${JSON.stringify(schema.default)}\`` : ''} | ${escape(schema.description ?? '')} |`);
  if (schema.properties) {
    for (const [key, child] of Object.entries(schema.properties)) {
      if (key === '$schema') continue;
      walk(child, path ? `${path}.${key}` : key, schema.required?.includes(key) ?? false, rows);
    }
  }
  if (schema.items) walk(schema.items, `${path}[]`, false, rows);
  if (schema.anyOf) for (const branch of schema.anyOf) if (branch.properties) walkBranch(branch, path, rows);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') walk(schema.additionalProperties, `${path}.<name>`, false, rows);
}

function walkBranch(branch: JsonSchema, path: string, rows: string[]): void {
  for (const [key, child] of Object.entries(branch.properties ?? {})) walk(child, `${path}.${key}`, branch.required?.includes(key) ?? false, rows);
}

function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.anyOf) {
    const parts = s.anyOf.map((b) => (b.properties ? `{${Object.keys(b.properties).join('}|{')}}` : typeOf(b)));
    return [...new Set(parts)].join(' \\| ');
  }
  if (s.pattern?.startsWith('^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+$')) return 'duration';
  const t = Array.isArray(s.type) ? s.type.join('/') : s.type ?? 'any';
  if (t === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  const range = s.minimum !== undefined || s.maximum !== undefined ? ` (${s.minimum ?? ''}..${s.maximum ?? ''})` : '';
  return `${t}${range}`;
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
