import type { Config } from '../../../src/config/schema/index.ts';
import { tempDir as removedAtExit } from '../../helpers/temp-dir.ts';

/** A small valid config: two clusters, one route with a split, an admin token, a JWT HMAC secret and gossip keys. */
export function sampleConfig(overrides: Partial<Config> = {}): Config {
  return {
    node: { id: 'gw-1', region: 'jp' },
    listeners: [],
    clusters: [
      { name: 'blue', endpoints: ['127.0.0.1:9101', '127.0.0.1:9102'] },
      { name: 'green', endpoints: ['127.0.0.1:9201'] },
    ],
    routes: [{ name: 'api', match: { path: { prefix: '/' } }, split: [{ cluster: 'blue', weight: 90 }, { cluster: 'green', weight: 10 }] }],
    admin: { address: '127.0.0.1:9901', token: 'admin-secret-token' },
    jwt: { providers: [{ name: 'main', issuer: 'https://auth.example/', secret: 'hmac-secret-that-is-long-enough-0123456789' }] },
    gossip: { bind: '127.0.0.1:7946', seeds: [], keys: ['a2V5LW9uZS1rZXktb25lLWtleS1vbmUtMTIzNDU2Nzg='] },
    ...overrides,
  } as Config;
}

export function tempDir(prefix = 'edgeplane-admin-'): string {
  return removedAtExit(prefix);
}
