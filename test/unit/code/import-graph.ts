import madge from 'madge';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export interface ImportGraph {
  /** file (relative to the scanned dir) → the files it imports */
  edges: Record<string, string[]>;
  /** each import circle as the files on it, in madge's order */
  cycles: string[][];
  /** imports madge could not resolve to a file (a resolution bug would hide edges, so the check looks at these too) */
  unresolved: string[];
}

/**
 * The import graph of a directory of TypeScript ESM sources, as madge reads it
 * with the repo's tsconfig (NodeNext resolution, `.ts` specifiers). Type-only
 * imports count: a circle through types still ties the modules together.
 */
export async function importGraph(dir: string): Promise<ImportGraph> {
  const res = await madge(dir, {
    fileExtensions: ['ts'],
    tsConfig: `${root}tsconfig.json`,
    detectiveOptions: { ts: { skipTypeImports: false }, es6: { skipTypeImports: false } },
  });
  return { edges: res.obj(), cycles: res.circular(), unresolved: res.warnings().skipped };
}
