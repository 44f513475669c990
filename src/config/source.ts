import { parseDocument, LineCounter, isMap, isSeq, isScalar, type Document, type Node as YamlNode } from 'yaml';
import type { ConfigIssue } from '../util/errors.ts';

/**
 * A parsed YAML (or JSON) document that can answer "which line is this path on?",
 * so every config error names the path and the line.
 */
export class ConfigSource {
  readonly name: string;
  readonly #doc: Document.Parsed;
  readonly #lines: LineCounter;
  readonly syntaxIssues: ConfigIssue[] = [];

  constructor(text: string, name = 'config') {
    this.name = name;
    this.#lines = new LineCounter();
    this.#doc = parseDocument(text, { lineCounter: this.#lines, prettyErrors: true, uniqueKeys: true, strict: true });
    for (const err of this.#doc.errors) {
      const line = err.linePos?.[0]?.line;
      this.syntaxIssues.push({ path: '', message: `YAML: ${err.message.split('\n')[0]!.replace(/ at line [0-9]+, column [0-9]+:?$/, '')}`, ...(line ? { line } : {}) });
    }
  }

  toJS(): unknown {
    return this.#doc.toJS({ maxAliasCount: 100 });
  }

  /** 1-based line of the node at `path` (or of its key `key`), when the path exists in the document. */
  lineOf(path: (string | number)[], key?: string): number | undefined {
    let node: unknown = this.#doc.contents;
    for (const seg of path) {
      if (isMap(node)) node = node.get(String(seg), true);
      else if (isSeq(node)) node = node.get(Number(seg), true);
      else return this.#lineAt(node);
      if (node === undefined) return undefined;
    }
    if (key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (pair && pair.key) return this.#lineAt(pair.key);
    }
    return this.#lineAt(node);
  }

  #lineAt(node: unknown): number | undefined {
    const range = (node as YamlNode | undefined)?.range;
    return range ? this.#lines.linePos(range[0]).line : undefined;
  }
}

/** `clusters[0].endpoints[1]` from ['clusters', 0, 'endpoints', 1]. */
export function formatPath(path: (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number' || /^[0-9]+$/.test(seg)) out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

/** Splits an ajv instancePath (`/clusters/0/name`) into segments, numbers as numbers. */
export function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
}
