import type { ConfigIssue } from '../util/errors.ts';
import { formatPath } from './source.ts';

const TOKEN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string value (never in keys),
 * after YAML parsing so a value can't change the document's structure.
 * `$${` escapes a literal `${`.
 */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, issues: ConfigIssue[], path: (string | number)[] = []): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    const escaped = value.split('$${');
    return escaped
      .map((part) =>
        part.replace(TOKEN, (_m, name: string, fallback: string | undefined) => {
          const v = env[name];
          if (v !== undefined && v !== '') return v;
          if (fallback !== undefined) return fallback;
          issues.push({ path: formatPath(path), message: `environment variable ${name} is not set (use \${${name}:-default} for a default)` });
          return '';
        }),
      )
      .join('${');
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, issues, [...path, i]));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, issues, [...path, k]);
    return out;
  }
  return value;
}
