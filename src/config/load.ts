import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { ConfigSchema, type Config } from './schema/index.ts';
import { ConfigSource, formatPath, pointerToPath } from './source.ts';
import { interpolateEnv } from './interpolate.ts';
import { crossCheck } from './cross-check.ts';
import type { RawIssue } from './issue.ts';
import { ConfigError, type ConfigIssue } from '../util/errors.ts';
import { DURATION_PATTERN } from '../util/duration.ts';

const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: false, strict: false, allowUnionTypes: true });
const validateSchema = ajv.compile<Config>(ConfigSchema);

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Name used in messages, usually the file path. */
  name?: string;
}

/** Parses YAML/JSON text into a validated Config, or throws ConfigError listing every issue with path and line. */
export function parseConfig(text: string, options: LoadOptions = {}): Config {
  const source = new ConfigSource(text, options.name);
  if (source.syntaxIssues.length > 0) throw new ConfigError(source.syntaxIssues, options.name);
  const envIssues: ConfigIssue[] = [];
  const value = interpolateEnv(source.toJS(), options.env ?? process.env, envIssues);
  if (envIssues.length > 0) throw new ConfigError(withLines(envIssues, source), options.name);
  return validateConfig(value, source, options.name);
}

export function loadConfigFile(file: string, options: Omit<LoadOptions, 'name'> = {}): Config {
  return loadConfigDocument(file, options).config;
}

/** Like loadConfigFile, also returning the parsed source so later checks (preflight) can name lines. */
export function loadConfigDocument(file: string, options: Omit<LoadOptions, 'name'> = {}): { config: Config; source: ConfigSource } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }], file);
  }
  const config = parseConfig(text, { ...options, name: file });
  return { config, source: new ConfigSource(text, file) };
}

/** Issues found after loading (preflight), with the line of their path in `source`. */
export function issuesWithLines(raw: readonly RawIssue[], source?: ConfigSource): ConfigIssue[] {
  return raw.map((r) => rawToIssue(r, source));
}

/** Validates an already-parsed value (admin API bodies); `source` adds line numbers when there is one. */
export function validateConfig(value: unknown, source?: ConfigSource, name?: string): Config {
  if (!validateSchema(value)) {
    throw new ConfigError(schemaIssues(validateSchema.errors ?? [], source), name);
  }
  const raw = crossCheck(value);
  if (raw.length > 0) throw new ConfigError(raw.map((r) => rawToIssue(r, source)), name);
  return value;
}

/** Returns the issues instead of throwing (for `edgeplane validate` and the admin API). */
export function checkConfig(value: unknown): ConfigIssue[] {
  try {
    validateConfig(value);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
}

function withLines(issues: ConfigIssue[], source: ConfigSource): ConfigIssue[] {
  return issues.map((i) => {
    const segs = i.path.split(/\.|\[|\]/).filter(Boolean).map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
    const line = source.lineOf(segs);
    return line ? { ...i, line } : i;
  });
}

function rawToIssue(r: RawIssue, source?: ConfigSource): ConfigIssue {
  const line = source?.lineOf(r.path, r.key);
  return { path: formatPath(r.key ? [...r.path, r.key] : r.path), message: r.message, ...(line ? { line } : {}) };
}

/**
 * Turns ajv's errors into one readable issue per problem. A failed `anyOf`
 * produces an error per branch; those are collapsed into one "must be one of" line.
 */
function schemaIssues(errors: ErrorObject[], source?: ConfigSource): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const seen = new Set<string>();
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  for (const e of errors) {
    const path = pointerToPath(e.instancePath);
    let message: string;
    let key: string | undefined;
    if (e.keyword === 'additionalProperties') {
      key = String((e.params as { additionalProperty: string }).additionalProperty);
      message = `unknown key "${key}"`;
    } else if (e.keyword === 'required') {
      message = `missing required key "${(e.params as { missingProperty: string }).missingProperty}"`;
    } else if (e.keyword === 'anyOf') {
      message = describeAnyOf(e);
    } else if (anyOfPaths.has(e.instancePath) || [...anyOfPaths].some((p) => p !== e.instancePath && e.instancePath.startsWith(p + '/') && e.keyword !== 'additionalProperties' && e.keyword !== 'required')) {
      continue; // branch noise of a failed anyOf, summarised by the anyOf error itself
    } else if (e.keyword === 'pattern' && e.schema === DURATION_PATTERN) {
      message = `must be a duration such as 250ms, 2s, 1m (got ${JSON.stringify(e.data)})`;
    } else if (e.keyword === 'enum') {
      const allowed = (e.schema as unknown[]).map((v) => String(v));
      const shown = allowed.length <= 12 ? allowed.join(', ') : `${allowed.slice(0, 9).join(', ')}, ... (${allowed.length} values, see the schema)`;
      message = `must be one of ${shown} (got ${JSON.stringify(e.data)})`;
    } else if (e.keyword === 'const' ) {
      continue;
    } else {
      message = e.message ?? 'invalid';
    }
    const issue = rawToIssue({ path, message, ...(key !== undefined ? { key } : {}) }, source);
    const id = `${issue.path}|${issue.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(issue);
  }
  return out;
}

function describeAnyOf(e: ErrorObject): string {
  const branches = (e.schema as Array<{ const?: unknown; type?: string; required?: string[]; properties?: Record<string, unknown> }>) ?? [];
  const consts = branches.filter((b) => b.const !== undefined).map((b) => JSON.stringify(b.const));
  if (consts.length === branches.length && consts.length > 0) return `must be one of ${consts.join(', ')}`;
  const keys = branches.map((b) => Object.keys(b.properties ?? {})[0]).filter(Boolean);
  if (keys.length === branches.length) return `must have exactly one of: ${keys.join(', ')}`;
  const kinds = branches.map((b) => (b.const !== undefined ? JSON.stringify(b.const) : b.type ?? 'object'));
  return `must be one of: ${kinds.join(', ')}`;
}
