import type { Config } from '../config/schema/index.ts';
import { redactSecrets } from './secrets.ts';

/**
 * Same config apart from the version number, with secrets compared as
 * placeholders (persisted configs hold none): a change that alters nothing
 * else gets no new version.
 */
export function sameConfig(a: Config, b: Config): boolean {
  const strip = (c: Config) => {
    const { version: _v, ...rest } = redactSecrets(c);
    return rest;
  };
  return sameJson(strip(a), strip(b));
}

export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** JSON with object keys sorted, so key order never makes two configs differ. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** The effective config carries its store version as `version:` (first, as a file would), so an export commits back cleanly. */
export function withVersion(config: Config, version: number): Config {
  const { version: _old, ...rest } = config;
  return { version, ...rest } as Config;
}
