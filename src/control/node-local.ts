import type { Config } from '../config/schema/index.ts';
import { sameJson } from './config-equal.ts';
import type { Issue } from './errors.ts';

/**
 * Sections that belong to one node and never go to the shared store: who the
 * node is, where it listens, how it reaches the store and its peers, how many
 * workers it runs, how it logs and drains. Each node takes them from its own
 * config file; everything else (clusters, routes, jwt, dns zones, health...)
 * is the fleet's. `dns.listen` is the one nested node-local key: each
 * nameserver binds its own addresses but answers from the fleet's zones.
 */
export const NODE_LOCAL_KEYS = ['node', 'listeners', 'admin', 'store', 'watch', 'gossip', 'workers', 'logging', 'drain'] as const;

type Json = Record<string, unknown>;

/** The fleet part of a config: node-local sections (and dns.listen) removed. Never mutates `config`. */
export function fleetPart(config: Config | Json): Json {
  const out = structuredClone(config) as Json;
  for (const k of NODE_LOCAL_KEYS) delete out[k];
  delete out.version;
  if (isObject(out.dns)) delete out.dns.listen;
  return out;
}

/** The fleet document completed with this node's own sections from its config file. */
export function withNodeLocal(fleet: Json, local: Config): Json {
  const out = structuredClone(fleet);
  for (const k of NODE_LOCAL_KEYS) {
    const v = (local as unknown as Json)[k];
    if (v === undefined) delete out[k];
    else out[k] = structuredClone(v);
  }
  if (isObject(out.dns) && local.dns?.listen !== undefined) out.dns.listen = structuredClone(local.dns.listen);
  return out;
}

/**
 * For writes through the API: node-local sections left out keep this node's,
 * and sent unchanged are fine; a change to one is refused (it would change one
 * node while looking like a fleet change, or lock the API out).
 */
export function nodeLocalIssues(candidate: Json, current: Config, keys: readonly string[]): Issue[] {
  const issues: Issue[] = [];
  for (const k of keys) {
    const sent = candidate[k];
    const mine = (current as unknown as Json)[k];
    if (sent === undefined || sameJson(sent, mine ?? (k === 'listeners' ? [] : {}))) {
      if (mine === undefined) delete candidate[k];
      else candidate[k] = structuredClone(mine);
      continue;
    }
    issues.push({
      path: k,
      message:
        k === 'admin'
          ? 'the admin section comes from the config file and cannot be changed through the API (leave it out, or send it unchanged)'
          : `"${k}" is node-local: it comes from each node's config file and cannot be changed through the API (leave it out, or send it unchanged)`,
    });
  }
  return issues;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
