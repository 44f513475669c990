// Writes schema/edgeplane.schema.json from the TypeBox schema (npm run schema).
// test/unit/config/schema-export.test.ts fails when the committed file is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderSchema } from '../src/config/schema/render.ts';

const out = fileURLToPath(new URL('../schema/edgeplane.schema.json', import.meta.url));
writeFileSync(out, renderSchema());
console.log(`wrote ${out}`);
