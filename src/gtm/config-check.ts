import type { GossipConfig } from '../config/schema/index.ts';
import { isLoopback, parseHostPort } from '../util/address.ts';
import { decodeBase64Strict } from './keyring.ts';
import { DEFAULT_GOSSIP_PORT } from './options.ts';
import { parseDuration } from '../util/duration.ts';

export interface GossipIssue {
  path: (string | number)[];
  message: string;
}

/**
 * What JSON Schema can't say about `gossip:`: addresses that parse, keys that
 * are AES keys, and the security default (no gossip off loopback without a
 * key). The agent enforces the same at start; this reports it with config paths.
 */
export function checkGossipConfig(gossip: GossipConfig): GossipIssue[] {
  const issues: GossipIssue[] = [];
  let bindHost: string | undefined;
  try {
    bindHost = parseHostPort(gossip.bind, DEFAULT_GOSSIP_PORT).host;
  } catch (err) {
    issues.push({ path: ['gossip', 'bind'], message: (err as Error).message });
  }
  gossip.seeds?.forEach((s, i) => {
    try {
      parseHostPort(s, DEFAULT_GOSSIP_PORT);
    } catch (err) {
      issues.push({ path: ['gossip', 'seeds', i], message: (err as Error).message });
    }
  });
  if (gossip.advertise !== undefined) {
    try {
      parseHostPort(gossip.advertise, DEFAULT_GOSSIP_PORT);
    } catch (err) {
      issues.push({ path: ['gossip', 'advertise'], message: (err as Error).message });
    }
  }
  const keys = gossip.keys ?? [];
  const seen = new Set<string>();
  keys.forEach((k, i) => {
    const buf = decodeBase64Strict(k);
    if (!buf) issues.push({ path: ['gossip', 'keys', i], message: 'not a base64 key (generate one with: openssl rand -base64 32)' });
    else if (buf.length !== 16 && buf.length !== 24 && buf.length !== 32) issues.push({ path: ['gossip', 'keys', i], message: `an AES key must be 16, 24 or 32 bytes, this one is ${buf.length}` });
    else if (seen.has(buf.toString('base64'))) issues.push({ path: ['gossip', 'keys', i], message: 'duplicate key' });
    else seen.add(buf.toString('base64'));
  });
  if (gossip.maxClockSkew !== undefined && !(parseDuration(gossip.maxClockSkew) >= 1)) {
    issues.push({ path: ['gossip', 'maxClockSkew'], message: 'must be at least 1ms (messages stamped further than this from the local clock are dropped)' });
  }
  if (bindHost !== undefined) {
    if (keys.length === 0 && !isLoopback(bindHost)) {
      issues.push({ path: ['gossip', 'keys'], message: `gossip.bind ${gossip.bind} is not a loopback address: set gossip.keys (messages are encrypted and authenticated with them)` });
    }
    if ((bindHost === '0.0.0.0' || bindHost === '::') && gossip.advertise === undefined) {
      issues.push({ path: ['gossip', 'advertise'], message: `gossip.bind ${gossip.bind} listens on every address: set gossip.advertise to the address other gateways reach this one at` });
    }
  }
  return issues;
}
