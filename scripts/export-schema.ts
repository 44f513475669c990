// npm run schema: writes schema/edgeplane.schema.json and docs/config-reference.md
// from the TypeBox schema. test/unit/config/schema-export.test.ts fails when either is stale.
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderSchema } from '../src/config/schema/render.ts';
import { renderReference } from '../src/config/schema/reference.ts';

const schemaFile = fileURLToPath(new URL('../schema/edgeplane.schema.json', import.meta.url));
const referenceFile = fileURLToPath(new URL('../docs/config-reference.md', import.meta.url));
mkdirSync(fileURLToPath(new URL('../docs', import.meta.url)), { recursive: true });
writeFileSync(schemaFile, renderSchema());
writeFileSync(referenceFile, renderReference());
console.log(`wrote ${schemaFile}\nwrote ${referenceFile}`);
