import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VersionHistory, type VersionRecord } from '../../../src/control/history.ts';
import { chooseStartupConfig, nextVersion } from '../../../src/control/startup-rule.ts';
import { sampleConfig } from './fixtures.ts';

function record(version: number, source: VersionRecord['source'] = 'api'): VersionRecord {
  return { version, at: new Date(1_700_000_000_000 + version).toISOString(), source, author: 'test', change: `change ${version}`, config: sampleConfig() };
}

test('the history keeps the last N versions, newest first in summaries, without configs', () => {
  let h = new VersionHistory(3);
  for (let v = 1; v <= 5; v++) h = h.appended(record(v));
  assert.deepEqual(h.versions(), [3, 4, 5]);
  assert.equal(h.head?.version, 5);
  assert.equal(h.get(2), undefined);
  assert.equal(h.get(4)?.change, 'change 4');
  const s = h.summaries();
  assert.deepEqual(s.map((x) => x.version), [5, 4, 3]);
  assert.equal('config' in s[0]!, false);
});

test('appended returns a new history and never goes backwards', () => {
  const h1 = new VersionHistory(5).appended(record(1));
  const h2 = h1.appended(record(2));
  assert.deepEqual(h1.versions(), [1]);
  assert.deepEqual(h2.versions(), [1, 2]);
  assert.throws(() => h2.appended(record(2)), RangeError);
  assert.throws(() => new VersionHistory(0), RangeError);
});

test('parse accepts what toJSON wrote and rejects anything else with a reason', () => {
  const h = new VersionHistory(5).appended(record(1, 'file')).appended(record(4, 'api'));
  const back = VersionHistory.parse(JSON.parse(JSON.stringify(h.toJSON())), 5);
  assert.deepEqual(back.versions(), [1, 4]);
  assert.throws(() => VersionHistory.parse({ format: 2, versions: [] }, 5), /format 1/);
  assert.throws(() => VersionHistory.parse({ format: 1, current: 1, versions: [{ ...record(1), source: 'ssh' }] }, 5), /source/);
  assert.throws(() => VersionHistory.parse({ format: 1, current: 2, versions: [record(2), record(1)] }, 5), /version must be an integer above 2/);
  assert.throws(() => VersionHistory.parse({ format: 1, current: 9, versions: [record(1)] }, 5), /current/);
  assert.throws(() => VersionHistory.parse({ format: 1, current: 1, versions: [{ ...record(1), config: null }] }, 5), /config/);
});

test('startup rule: persisted state wins only when made through the API and newer than the file version', () => {
  assert.equal(chooseStartupConfig(0, undefined).use, 'file');
  // The newest version came from the file itself: the file is read again (it may have been edited).
  assert.equal(chooseStartupConfig(0, { ...record(7, 'file') }).use, 'file');
  assert.equal(chooseStartupConfig(0, record(7, 'api')).use, 'persisted');
  assert.equal(chooseStartupConfig(6, record(7, 'rollback')).use, 'persisted');
  assert.equal(chooseStartupConfig(7, record(7, 'api')).use, 'file');
  assert.equal(chooseStartupConfig(12, record(7, 'api')).use, 'file');
  assert.match(chooseStartupConfig(3, record(7, 'api')).reason, /7.*newer.*3/);
});

test('next version: one more, or the file version when that is higher', () => {
  assert.equal(nextVersion(0), 1);
  assert.equal(nextVersion(4), 5);
  assert.equal(nextVersion(4, 2), 5);
  assert.equal(nextVersion(4, 10), 10);
});
