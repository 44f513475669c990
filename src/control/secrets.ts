import type { Config } from '../config/schema/index.ts';
import type { Issue as AdminIssue } from './errors.ts';

/**
 * Secrets in the config: the admin token, JWT HMAC secrets, gossip keys and
 * the etcd password.
 * They come from the config file (usually through `${ENV}`) and nowhere else:
 * the admin API never returns them (GET answers this placeholder), the state
 * directory never stores them, and a write that sends the placeholder back
 * keeps the value in force. So a GET → edit → PUT round trip works, rotating a
 * secret in the environment takes effect at the next restart or SIGHUP even
 * when persisted API changes win, and nothing secret ends up in Git through
 * `edgeplane config export`.
 */
export const REDACTED = '[redacted]';

interface Slot {
  /** Where it is in this config, e.g. `jwt.providers[2].secret`. */
  path: string;
  /** Where the same secret is in another config: JWT providers by name, gossip keys by position. */
  key: string;
  value: unknown;
  set(value: string): void;
}

/** Every secret-bearing place present in a config (or in an unvalidated body shaped like one). */
function slots(config: unknown): Slot[] {
  const out: Slot[] = [];
  if (!isObject(config)) return out;
  const admin = config.admin;
  if (isObject(admin) && admin.token !== undefined) {
    out.push({ path: 'admin.token', key: 'admin.token', value: admin.token, set: (v) => (admin.token = v) });
  }
  const jwt = config.jwt;
  if (isObject(jwt) && Array.isArray(jwt.providers)) {
    jwt.providers.forEach((p: unknown, i: number) => {
      if (isObject(p) && p.secret !== undefined) {
        out.push({ path: `jwt.providers[${i}].secret`, key: `jwt.providers[name=${String(p.name)}].secret`, value: p.secret, set: (v) => (p.secret = v) });
      }
    });
  }
  const store = config.store;
  if (isObject(store) && isObject(store.etcd) && store.etcd.password !== undefined) {
    const etcd = store.etcd;
    out.push({ path: 'store.etcd.password', key: 'store.etcd.password', value: etcd.password, set: (v) => (etcd.password = v) });
  }
  const gossip = config.gossip;
  if (isObject(gossip) && Array.isArray(gossip.keys)) {
    const keys = gossip.keys as unknown[];
    keys.forEach((k, i) => out.push({ path: `gossip.keys[${i}]`, key: `gossip.keys[${i}]`, value: k, set: (v) => (keys[i] = v) }));
  }
  return out;
}

function secretIndex(config: Config | undefined): Map<string, string> {
  const index = new Map<string, string>();
  for (const s of slots(config)) if (typeof s.value === 'string' && s.value !== REDACTED) index.set(s.key, s.value);
  return index;
}

/** A deep copy with every secret replaced by the placeholder. */
export function redactSecrets<T extends Config>(config: T): T {
  const copy = structuredClone(config);
  for (const s of slots(copy)) s.set(REDACTED);
  return copy;
}

/**
 * Replaces placeholders in `candidate` (mutated in place) with the values
 * known from `sources`, first match wins. Returns an issue for every
 * placeholder nothing can fill.
 */
export function restoreSecrets(candidate: unknown, sources: readonly (Config | undefined)[]): AdminIssue[] {
  const indexes = sources.map(secretIndex);
  const issues: AdminIssue[] = [];
  for (const s of slots(candidate)) {
    if (s.value !== REDACTED) continue;
    const value = indexes.map((ix) => ix.get(s.key)).find((v) => v !== undefined);
    if (value === undefined) issues.push({ path: s.path, message: `no current value to keep for ${REDACTED}: set this secret in the config file` });
    else s.set(value);
  }
  return issues;
}

/**
 * For writes through the API: a literal secret must be one already in force
 * (from the file). New secrets belong in the config file, so they are never
 * persisted by the admin API and never outlive an environment rotation.
 */
export function newSecretIssues(candidate: unknown, known: readonly (Config | undefined)[]): AdminIssue[] {
  const indexes = known.map(secretIndex);
  const issues: AdminIssue[] = [];
  for (const s of slots(candidate)) {
    if (typeof s.value !== 'string' || s.value === REDACTED) continue;
    if (!indexes.some((ix) => ix.get(s.key) === s.value)) {
      issues.push({ path: s.path, message: `secrets are set in the config file, not through the admin API (send "${REDACTED}" to keep the current value)` });
    }
  }
  return issues;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
