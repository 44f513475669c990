import type { Config } from '../config/schema/index.ts';
import { validateConfig } from '../config/load.ts';
import { ConfigError } from '../util/errors.ts';
import { InvalidChangeError, VersionConflictError, type Issue } from './errors.ts';
import { restoreSecrets, newSecretIssues } from './secrets.ts';
import { nodeLocalIssues } from './node-local.ts';

/**
 * Building a candidate config from what a write sends, the same way for both
 * store kinds: unwrap `{config}`, keep secrets (they only ever come from the
 * config file), keep the sections the API may not change, validate.
 */

/** Schema + cross-check; issues are reported under the request's own paths when `mapPath` is given. */
export function validateCandidate(candidate: unknown, mapPath?: (path: string) => string): Config {
  try {
    return validateConfig(candidate);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new InvalidChangeError(err.issues.map((i) => ({ path: mapPath ? mapPath(i.path) : i.path, message: i.message })));
  }
}

/**
 * A PUT /v1/config body as a candidate. `localKeys` are the sections that
 * come from the node's file only (the file store: `admin`; the etcd store:
 * every node-local section).
 */
export function candidateFromApi(value: unknown, current: Config, file: Config | undefined, localKeys: readonly string[], mapPath?: (path: string) => string): Config {
  let body = value;
  if (isObject(body) && 'config' in body) {
    const extra = Object.keys(body).filter((k) => k !== 'config' && k !== 'version');
    if (extra.length) throw new InvalidChangeError(extra.map((k) => ({ path: k, message: `unknown key "${k}" (send the config itself, or {config})` })));
    body = body.config;
  }
  if (!isObject(body)) throw new InvalidChangeError([{ path: '', message: 'the body must be a JSON object: the config, or {config}' }]);
  const candidate = structuredClone(body);
  const issues: Issue[] = [...restoreSecrets(candidate, [current, file]), ...newSecretIssues(candidate, [current, file])];
  issues.push(...nodeLocalIssues(candidate, current, localKeys));
  if (issues.length) throw new InvalidChangeError(issues);
  return validateCandidate(candidate, mapPath);
}

/** A stored config (secrets redacted, maybe without node-local sections) made whole again with this node's; or why it can't be. */
export function restoreStored(stored: Record<string, unknown>, complete: (c: Record<string, unknown>) => Record<string, unknown>, secretsFrom: readonly (Config | undefined)[]): { ok: true; config: Config } | { ok: false; issues: Issue[] } {
  const candidate = complete(structuredClone(stored));
  const issues = restoreSecrets(candidate, secretsFrom);
  if (issues.length) return { ok: false, issues };
  try {
    return { ok: true, config: validateConfig(candidate) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, issues: err.issues.map((i) => ({ path: i.path, message: i.message })) };
    return { ok: false, issues: [{ path: '', message: (err as Error).message }] };
  }
}

/** If-Match: the write goes ahead only while `ifVersion` ("3", W/"3" or *) is the current version. */
export function checkIfVersion(ifVersion: string | undefined, current: number): void {
  if (ifVersion === undefined) return;
  const wanted = ifVersion.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  if (wanted !== '*' && wanted !== String(current)) throw new VersionConflictError(ifVersion, current);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
