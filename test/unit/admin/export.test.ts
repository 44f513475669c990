import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { exportConfig } from '../../../src/control/export.ts';
import { VersionHistory, type VersionRecord } from '../../../src/control/history.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { redactSecrets } from '../../../src/control/secrets.ts';

const FILE = `
node: { id: gw-1, region: jp }
listeners: [ { name: http, address: "\${LISTEN:-127.0.0.1:8080}", protocol: http } ]
clusters:
  - { name: blue, endpoints: [127.0.0.1:9101] }
  - { name: green, endpoints: [127.0.0.1:9201] }
routes:
  - name: api
    match: { path: { prefix: / } }
    split: [ { cluster: blue, weight: 90 }, { cluster: green, weight: 10 } ]
admin: { address: 127.0.0.1:9901, token: "\${ADMIN_TOKEN}" }
jwt: { providers: [ { name: main, issuer: https://a/, secret: literal-secret-in-the-file-0123456789abcdef } ] }
`;
const env = { ADMIN_TOKEN: 'tok-from-env' };

function history(records: Partial<VersionRecord>[]): VersionHistory {
  const base = parseConfig(FILE, { env });
  let h = new VersionHistory(20);
  records.forEach((r, i) => {
    const config = redactSecrets({ ...base, ...(r.config ?? {}) });
    h = h.appended({ version: i + 1, at: '2025-01-01T00:00:00.000Z', source: 'api', author: 'a', change: 'c', ...r, config } as VersionRecord);
  });
  return h;
}

test('without state the file is exported with version 1', () => {
  const r = exportConfig({ filePath: 'f.yaml', fileText: FILE, env, history: undefined });
  assert.equal(r.from, 'file');
  assert.equal(r.version, 1);
  assert.equal(parse(r.yaml).version, 1);
});

test('newer API changes are exported with their version; secrets never appear, ${ENV} references are kept', () => {
  const changed = parseConfig(FILE, { env });
  changed.routes[0]!.split = [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }];
  const r = exportConfig({ filePath: 'f.yaml', fileText: FILE, env, history: history([{ source: 'file' }, { config: changed }]) });
  assert.equal(r.from, 'persisted');
  const out = parse(r.yaml);
  assert.equal(out.version, 2);
  assert.deepEqual(out.routes[0].split, [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }]);
  assert.equal(out.admin.token, '${ADMIN_TOKEN}');
  assert.equal(out.listeners[0].address, '${LISTEN:-127.0.0.1:8080}');
  assert.equal(r.yaml.includes('tok-from-env'), false);
  assert.equal(r.yaml.includes('literal-secret'), false, 'a literal secret in the file is not copied into the export');
  assert.equal(out.jwt.providers[0].secret, '[redacted]');
  assert.match(r.warnings.join('\n'), /jwt\.providers\[0\]\.secret/);
  // Committing the export makes the file win at the next start.
  const committed = exportConfig({ filePath: 'f.yaml', fileText: r.yaml.replace("'[redacted]'", 'literal-secret-in-the-file-0123456789abcdef').replace('"[redacted]"', 'literal-secret-in-the-file-0123456789abcdef'), env, history: history([{ source: 'file' }, { config: changed }]) });
  assert.equal(committed.from, 'file');
  assert.equal(committed.version, 2);
});
