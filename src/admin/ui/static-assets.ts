import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * The page's files live in `ui/` at the package root: the same directory
 * whether this module runs from src/ (tsx) or dist/ (built), and listed in
 * package.json `files`. uPlot comes from its npm package (a dependency).
 */
export const UI_ROOT = fileURLToPath(new URL('../../../ui/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

function vendorFiles(): Record<string, string> {
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
  return {
    'vendor/uPlot.iife.min.js': join(uplot, 'dist/uPlot.iife.min.js'),
    'vendor/uPlot.min.css': join(uplot, 'dist/uPlot.min.css'),
  };
}

/**
 * Every servable file, read once into memory: `ui/` is small, and a fixed
 * table means a request path is only ever a key, never a file system path
 * (no traversal to guard). Files of other types are not served.
 */
export function loadAssets(root = UI_ROOT): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const add = (name: string, file: string) => {
    const type = TYPES[extname(file)];
    if (!type) return;
    const body = readFileSync(file);
    assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  };
  if (existsSync(root)) {
    for (const file of walk(root)) add(relative(root, file).split(sep).join('/'), file);
  }
  for (const [name, file] of Object.entries(vendorFiles())) if (existsSync(file)) add(name, file);
  return assets;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
