import type { TObject, Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * The one place a config default is written is the `default` of its schema
 * field: the JSON Schema, docs/config-reference.md and the resolvers all read
 * it from there. A resolver names the fields it needs defaults for; a field
 * that declares none, or a default the field itself would reject, fails when
 * the resolver's module loads (every test that imports it), not at runtime on
 * some later request.
 */
export class SchemaDefaultError extends Error {
  readonly code = 'EP_SCHEMA_DEFAULT';
  constructor(message: string) {
    super(message);
    this.name = 'SchemaDefaultError';
  }
}

export type SchemaDefaults<T extends TObject, K extends keyof Static<T>> = { readonly [P in K]-?: Exclude<Static<T>[P], undefined> };

export function defaultsOf<T extends TObject, K extends keyof Static<T> & string>(schema: T, keys: readonly K[]): SchemaDefaults<T, K> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const field = schema.properties[key] as TSchema | undefined;
    if (field === undefined) throw new SchemaDefaultError(`the schema has no field ${key}`);
    if (field.default === undefined) throw new SchemaDefaultError(`schema field ${key} declares no default`);
    if (!Value.Check(field, field.default)) throw new SchemaDefaultError(`the default of schema field ${key} (${JSON.stringify(field.default)}) does not satisfy the field`);
    out[key] = field.default;
  }
  return Object.freeze(out) as SchemaDefaults<T, K>;
}
