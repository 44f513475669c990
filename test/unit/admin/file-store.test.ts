import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import type { Config } from '../../../src/config/schema/index.ts';
import { FileConfigStore as ConfigStore } from '../../../src/control/file-store.ts';
import { StateDir } from '../../../src/control/persistence.ts';
import { redactSecrets, REDACTED } from '../../../src/control/secrets.ts';
import { InvalidChangeError as AdminRejectedError, PersistError, VersionConflictError, VersionNotFoundError } from '../../../src/control/errors.ts';
import { ManualClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { sampleConfig, tempDir } from './fixtures.ts';

interface Harness {
  store: ConfigStore;
  dir: string;
  applied: { version: number; config: Config }[];
  failApply: { next: boolean };
}

async function open(dir = tempDir(), historyLimit = 20): Promise<Harness> {
  const applied: Harness['applied'] = [];
  const failApply = { next: false };
  const stateDir = await StateDir.open(dir);
  const store = await ConfigStore.open({
    stateDir,
    historyLimit,
    logger: silentLogger,
    clock: new ManualClock(),
    apply: async (config, version) => {
      if (failApply.next) {
        failApply.next = false;
        throw new Error('listener x cannot bind 127.0.0.1:1: EADDRINUSE');
      }
      applied.push({ version, config });
    },
  });
  return { store, dir, applied, failApply };
}

const meta = { source: 'api' as const, author: 'tester', change: 'test' };
const disk = (h: Harness) => readFileSync(h.store.file, 'utf8');

function withSplit(blue: number, green: number): Config {
  const c = sampleConfig();
  c.routes[0]!.split = [{ cluster: 'blue', weight: blue }, { cluster: 'green', weight: green }];
  return c;
}

test('start records the file as version 1, applies it and persists it without secrets', async () => {
  const h = await open();
  const r = await h.store.start(sampleConfig(), '/etc/edgeplane.yaml');
  assert.deepEqual([r.version, r.changed], [1, true]);
  assert.equal(h.applied.length, 1);
  assert.equal(h.applied[0]!.version, 1);
  assert.equal(h.applied[0]!.config.version, 1);
  assert.equal(h.applied[0]!.config.admin?.token, 'admin-secret-token', 'the running config keeps its secrets');
  const text = disk(h);
  for (const secret of ['admin-secret-token', 'hmac-secret', 'a2V5LW9u']) assert.equal(text.includes(secret), false, `${secret} must not be on disk`);
  assert.equal(JSON.parse(text).current, 1);
});

test('API writes get increasing versions, history and a durable copy', async () => {
  const h = await open();
  await h.store.start(sampleConfig(), 'f');
  const r2 = await h.store.replace(withSplit(50, 50), meta);
  const r3 = await h.store.update((d) => d.clusters[0]!.endpoints!.push('127.0.0.1:9103'), meta);
  assert.deepEqual([r2.version, r2.previousVersion, r3.version], [2, 1, 3]);
  assert.deepEqual(h.store.history.versions(), [1, 2, 3]);
  assert.equal(h.store.current.config.clusters[0]!.endpoints!.length, 3);
  const persisted = JSON.parse(disk(h));
  assert.equal(persisted.current, 3);
  assert.equal(persisted.versions[1].config.routes[0].split[0].weight, 50);
  assert.equal(persisted.versions[1].author, 'tester');
});

test('every rejected write leaves memory, the running gateway and the disk unchanged', async () => {
  const h = await open();
  await h.store.start(sampleConfig(), 'f');
  await h.store.replace(withSplit(70, 30), meta);
  const before = { disk: disk(h), current: JSON.stringify(h.store.current), applied: h.applied.length };
  const bad: [string, () => Promise<unknown>, RegExp][] = [
    ['not an object', () => h.store.replace([1, 2], meta), /JSON object/],
    ['schema: wrong type', () => h.store.replace({ ...sampleConfig(), routes: 'x' }, meta), /routes/],
    ['schema: unknown key', () => h.store.replace({ ...sampleConfig(), colour: 'blue' }, meta), /unknown key "colour"/],
    ['unknown cluster', () => h.store.replace({ ...withSplit(1, 1), routes: [{ ...withSplit(1, 1).routes[0]!, split: [{ cluster: 'nope', weight: 1 }] }] }, meta), /unknown cluster "nope"/],
    ['weights add up to 0', () => h.store.replace(withSplit(0, 0), meta), /more than 0/],
    ['new secret', () => h.store.replace({ ...sampleConfig(), jwt: { providers: [{ name: 'main', issuer: 'https://auth.example/', secret: 'a-brand-new-secret-value-0123456789abcdef' }] } }, meta), /config file/],
    ['admin section changed', () => h.store.replace({ ...sampleConfig(), admin: { address: '127.0.0.1:1' } }, meta), /admin section/],
    ['wrapper with unknown key', () => h.store.replace({ config: sampleConfig(), extra: 1 }, meta), /unknown key "extra"/],
    ['edit that breaks the config', () => h.store.update((d) => (d.routes[0]!.split[0]!.cluster = 'ghost'), meta), /ghost/],
    ['rollback to a missing version', () => h.store.rollback(99, { author: 'x', change: 'x' }), /not in the history/],
  ];
  for (const [name, write, message] of bad) {
    await assert.rejects(write(), (err: Error) => err instanceof AdminRejectedError && message.test(err.message), name);
    assert.equal(disk(h), before.disk, `${name}: disk changed`);
    assert.equal(JSON.stringify(h.store.current), before.current, `${name}: memory changed`);
    assert.equal(h.applied.length, before.applied, `${name}: the gateway was touched`);
  }
  await assert.rejects(h.store.rollback(99, { author: 'x', change: 'x' }), VersionNotFoundError);
});

test('a config the gateway cannot apply is rejected and nothing is recorded', async () => {
  const h = await open();
  await h.store.start(sampleConfig(), 'f');
  const before = disk(h);
  h.failApply.next = true;
  await assert.rejects(h.store.replace(withSplit(1, 2), meta), (err: Error) => err instanceof AdminRejectedError && /EADDRINUSE/.test(err.message));
  assert.equal(disk(h), before);
  assert.equal(h.store.current.version, 1);
  assert.deepEqual(h.store.history.versions(), [1]);
});

test('when persisting fails the running gateway is put back and the error says nothing changed', async () => {
  const h = await open();
  await h.store.start(sampleConfig(), 'f');
  rmSync(h.dir, { recursive: true, force: true });
  await assert.rejects(h.store.replace(withSplit(5, 5), meta), (err: Error) => err instanceof PersistError && /nothing was changed/.test(err.message));
  // Applied the new one, then re-applied version 1.
  assert.deepEqual(h.applied.map((a) => a.version), [1, 2, 1]);
  assert.equal(h.applied[2]!.config.routes[0]!.split[0]!.weight, 90);
  assert.equal(h.store.current.version, 1);
  assert.deepEqual(h.store.history.versions(), [1]);
});

test('an identical write (key order, placeholders) is not a new version; a GET-edit-PUT round trip works', async () => {
  const h = await open();
  await h.store.start(sampleConfig(), 'f');
  const redacted = redactSecrets(h.store.current.config);
  const same = await h.store.replace({ config: JSON.parse(JSON.stringify(redacted)), version: 1 }, meta);
  assert.deepEqual([same.version, same.changed], [1, false]);
  const edited = JSON.parse(JSON.stringify(redacted));
  edited.routes[0].split[1].weight = 40;
  delete edited.admin;
  const r = await h.store.replace(edited, meta);
  assert.deepEqual([r.version, r.changed], [2, true]);
  assert.equal(h.store.current.config.admin?.token, 'admin-secret-token', 'admin section kept');
  assert.equal(h.store.current.config.jwt?.providers[0]?.secret, sampleConfig().jwt!.providers[0]!.secret, 'secret kept');
  assert.notEqual(h.store.current.config.jwt?.providers[0]?.secret, REDACTED);
});

test('rollback makes an earlier config current as a new version', async () => {
  const h = await open();
  await h.store.start(sampleConfig(), 'f');
  await h.store.replace(withSplit(0, 100), meta);
  const r = await h.store.rollback(1, { author: 'oncall', change: 'rollback to 1' });
  assert.deepEqual([r.version, r.changed, r.record?.rolledBackTo, r.record?.source], [3, true, 1, 'rollback']);
  assert.equal(h.store.current.config.routes[0]!.split[0]!.weight, 90);
  assert.equal(h.store.current.config.admin?.token, 'admin-secret-token');
  const again = await h.store.rollback(3, { author: 'oncall', change: 'noop' });
  assert.equal(again.changed, false);
});

test('If-Match: a write based on an old version is refused', async () => {
  const h = await open();
  await h.store.start(sampleConfig(), 'f');
  await h.store.replace(withSplit(1, 1), { ...meta }, { ifVersion: '"1"' });
  await assert.rejects(h.store.replace(withSplit(2, 1), meta, { ifVersion: '"1"' }), VersionConflictError);
  await h.store.replace(withSplit(2, 1), meta, { ifVersion: '2' });
  assert.equal(h.store.current.version, 3);
});

test('restart: newer API changes win over the file, with secrets and the admin section from the file', async () => {
  const dir = tempDir();
  const a = await open(dir);
  await a.store.start(sampleConfig(), 'f');
  await a.store.replace(withSplit(10, 90), meta);
  const b = await open(dir);
  const file = sampleConfig({ admin: { address: '127.0.0.1:9901', token: 'rotated-token' } });
  const r = await b.store.start(file, 'f');
  assert.deepEqual([r.version, r.changed], [2, false]);
  assert.equal(b.store.current.config.routes[0]!.split[1]!.weight, 90);
  assert.equal(b.store.current.config.admin?.token, 'rotated-token');
  assert.equal(b.store.current.config.jwt?.providers[0]?.secret, file.jwt!.providers[0]!.secret);
  assert.equal(b.applied[0]!.version, 2);
});

test('restart: a file whose version is not older wins, and later versions continue above it', async () => {
  const dir = tempDir();
  const a = await open(dir);
  await a.store.start(sampleConfig(), 'f');
  await a.store.replace(withSplit(10, 90), meta);
  const b = await open(dir);
  const r = await b.store.start({ ...withSplit(33, 67), version: 10 }, 'f');
  assert.deepEqual([r.version, r.changed], [10, true]);
  assert.equal(b.store.current.config.routes[0]!.split[0]!.weight, 33);
  const next = await b.store.replace(withSplit(1, 1), meta);
  assert.equal(next.version, 11);
  // The API change (11) is newer than the file (10): it wins at the next start.
  const c = await open(dir);
  await c.store.start({ ...withSplit(33, 67), version: 10 }, 'f');
  assert.equal(c.store.current.version, 11);
});

test('restart: an unchanged file is not a new version; an edited one is (the newest version came from the file)', async () => {
  const dir = tempDir();
  await (await open(dir)).store.start(sampleConfig(), 'f');
  const b = await open(dir);
  assert.deepEqual(await b.store.start(sampleConfig(), 'f').then((r) => [r.version, r.changed]), [1, false]);
  const c = await open(dir);
  assert.deepEqual(await c.store.start(withSplit(1, 3), 'f').then((r) => [r.version, r.changed]), [2, true]);
});

test('restart: a persisted config that no longer validates falls back to the file', async () => {
  const dir = tempDir();
  const a = await open(dir);
  await a.store.start(sampleConfig(), 'f');
  await a.store.replace(withSplit(10, 90), meta);
  // The file no longer has the JWT provider whose secret the persisted config needs.
  const b = await open(dir);
  const file = sampleConfig({ jwt: undefined });
  delete (file as Partial<Config>).jwt;
  const r = await b.store.start(file, 'f');
  assert.equal(r.version, 3);
  assert.equal(b.store.current.config.jwt, undefined);
});

test('the history on disk is bounded', async () => {
  const h = await open(tempDir(), 3);
  await h.store.start(sampleConfig(), 'f');
  for (let i = 1; i <= 5; i++) await h.store.replace(withSplit(i, 1), meta);
  assert.deepEqual(JSON.parse(disk(h)).versions.map((v: { version: number }) => v.version), [4, 5, 6]);
  await assert.rejects(h.store.rollback(2, { author: 'x', change: 'x' }), VersionNotFoundError);
});

test('a corrupt state file is moved aside and the file is used', async () => {
  const dir = tempDir();
  const a = await open(dir);
  await a.store.start(sampleConfig(), 'f');
  const { writeFileSync, readdirSync } = await import('node:fs');
  writeFileSync(a.store.file, '{"format": 1, "versions": [');
  const b = await open(dir);
  const r = await b.store.start(sampleConfig(), 'f');
  assert.equal(r.version, 1);
  assert.ok(readdirSync(dir).some((f) => f.startsWith('config.json.corrupt-')));
});

test('changes are serialised: concurrent writes get distinct consecutive versions', async () => {
  const h = await open();
  await h.store.start(sampleConfig(), 'f');
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => h.store.replace(withSplit(i + 1, 1), meta)));
  assert.deepEqual(results.map((r) => r.version), [2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(h.applied.map((a) => a.version), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});
