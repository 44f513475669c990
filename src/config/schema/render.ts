import { ConfigSchema } from './index.ts';

/** The JSON Schema as committed to schema/edgeplane.schema.json (draft-07, for editors). */
export function renderSchema(): string {
  return JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...ConfigSchema }, null, 2) + '\n';
}
