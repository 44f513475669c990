import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { StateDir, readStateDocument } from '../../../src/control/persistence.ts';
import { StateCorruptError, StateDirError } from '../../../src/control/errors.ts';
import { tempDir } from './fixtures.ts';

const asObject = (v: unknown) => {
  if (typeof v !== 'object' || v === null) throw new Error('not an object');
  return v as { n: number };
};

test('a document round-trips, is written 0600 in a 0700 directory, and leaves no temp file', async () => {
  const dir = join(tempDir(), 'state');
  const state = await StateDir.open(dir);
  const doc = state.document('things', asObject);
  assert.equal(await doc.read(), undefined);
  await doc.write({ n: 1 });
  await doc.write({ n: 2 });
  assert.deepEqual(await doc.read(), { n: 2 });
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(doc.file).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['things.json']);
  assert.deepEqual(await readStateDocument(dir, 'things', asObject), { n: 2 });
});

test('concurrent writes are serialised: the last call is what is on disk', async () => {
  const state = await StateDir.open(tempDir());
  const doc = state.document('seq', asObject);
  await Promise.all(Array.from({ length: 20 }, (_, i) => doc.write({ n: i })));
  assert.deepEqual(await doc.read(), { n: 19 });
  assert.deepEqual(readdirSync(state.path), ['seq.json']);
});

test('temp files left by a killed writer are removed on open; the document is untouched', async () => {
  const dir = tempDir();
  const first = await StateDir.open(dir);
  await first.document('config', asObject).write({ n: 7 });
  writeFileSync(join(dir, '.config.json.tmp-4242-1'), '{"n": 8, "tor');
  const reopened = await StateDir.open(dir);
  assert.deepEqual(readdirSync(dir), ['config.json']);
  assert.deepEqual(await reopened.document('config', asObject).read(), { n: 7 });
});

test('a file that is not JSON, or not the expected shape, is reported as corrupt and can be moved aside', async () => {
  const dir = tempDir();
  const state = await StateDir.open(dir);
  const doc = state.document('config', asObject);
  writeFileSync(doc.file, '{"n": 1');
  await assert.rejects(doc.read(), StateCorruptError);
  writeFileSync(doc.file, '"a string"');
  await assert.rejects(doc.read(), (err: Error) => err instanceof StateCorruptError && /not an object/.test(err.message));
  const aside = await doc.quarantine(1234);
  assert.match(aside, /config\.json\.corrupt-1234$/);
  assert.equal(await doc.read(), undefined);
});

test('names are restricted to plain file names', async () => {
  const state = await StateDir.open(tempDir());
  assert.throws(() => state.document('../escape', asObject), TypeError);
  assert.throws(() => state.document('Upper', asObject), TypeError);
});

test('a state directory that cannot be created fails with StateDirError', async (t) => {
  if (process.getuid?.() === 0) {
    // root ignores permission bits: use a path under a regular file instead.
    const base = tempDir();
    writeFileSync(join(base, 'file'), 'x');
    await assert.rejects(StateDir.open(join(base, 'file', 'state')), StateDirError);
    return;
  }
  const base = tempDir();
  mkdirSync(join(base, 'ro'));
  chmodSync(join(base, 'ro'), 0o500);
  await assert.rejects(StateDir.open(join(base, 'ro', 'state')), StateDirError);
  t.after(() => chmodSync(join(base, 'ro'), 0o700));
});

test('document content is pretty JSON ending with a newline (diffable by people)', async () => {
  const state = await StateDir.open(tempDir());
  const doc = state.document('pretty', asObject);
  await doc.write({ n: 3 });
  assert.equal(readFileSync(doc.file, 'utf8'), '{\n  "n": 3\n}\n');
});
