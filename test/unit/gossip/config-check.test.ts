import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/util/errors.ts';
import { generateKey } from '../../../src/gossip/keyring.ts';

function issues(gossip: string): string[] {
  try {
    parseConfig(`node: { id: a, region: jp }\nlisteners: []\nclusters: []\nroutes: []\ngossip: ${gossip}\n`);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
}

test('gossip config: loopback without keys is fine; addresses, keys and the security default are checked', () => {
  assert.deepEqual(issues('{ bind: 127.0.0.1:7946, profile: local }'), []);
  assert.deepEqual(issues(`{ bind: 10.0.0.5:7946, keys: [${generateKey()}], seeds: [10.0.0.6:7946] }`), []);
  assert.match(issues('{ bind: 10.0.0.5:7946 }').join('\n'), /gossip\.keys: .*not a loopback address: set gossip\.keys/);
  assert.match(issues(`{ bind: "0.0.0.0:7946", keys: [${generateKey()}] }`).join('\n'), /gossip\.advertise: .*set gossip\.advertise/);
  assert.match(issues('{ bind: 127.0.0.1:7946, keys: ["not base64!"] }').join('\n'), /gossip\.keys\[0\]: not a base64 key/);
  assert.match(issues(`{ bind: 127.0.0.1:7946, keys: [${Buffer.alloc(20).toString('base64')}] }`).join('\n'), /gossip\.keys\[0\]: an AES key must be 16, 24 or 32 bytes/);
  assert.match(issues('{ bind: 127.0.0.1:7946, seeds: ["host:99999"] }').join('\n'), /gossip\.seeds\[0\]/);
  assert.match(issues('{ bind: 127.0.0.1:7946, profile: fast }').join('\n'), /gossip\.profile/);
  assert.match(issues('{ bind: 127.0.0.1:7946, interval: 1s }').join('\n'), /unknown key "interval"/);
});
