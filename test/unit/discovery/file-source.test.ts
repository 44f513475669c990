import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, renameSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource, MAX_FILE_BYTES } from '../../../src/discovery/file.ts';
import type { DiscoveryStatus } from '../../../src/discovery/types.ts';
import { systemClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { waitFor } from '../../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeplane-file-discovery-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function start(name: string) {
  const path = join(dir, name);
  const sets: string[][] = [];
  const statuses: DiscoveryStatus[] = [];
  const source = new FileSource({ cluster: `file-${name}`, path, pollIntervalMs: 100, clock: systemClock, logger: silentLogger });
  return {
    path,
    sets,
    statuses,
    source,
    go: () => source.start({ endpoints: (a) => sets.push([...a]), status: (s) => statuses.push(s) }),
  };
}

/** What a deploy script does: write a temp file, then rename it over the real one. */
function atomicWrite(path: string, text: string) {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

test('reads the file at start and follows atomic replacements (blue/green switch)', async () => {
  const s = start('blue-green.txt');
  writeFileSync(s.path, '127.0.0.1:9101\n127.0.0.1:9102\n');
  s.go();
  await waitFor(() => s.sets.length === 1, { what: 'first set' });
  assert.deepEqual(s.sets[0], ['127.0.0.1:9101', '127.0.0.1:9102']);
  atomicWrite(s.path, '127.0.0.1:9201\n');
  await waitFor(() => s.sets.length === 2, { what: 'the switched set' });
  assert.deepEqual(s.sets[1], ['127.0.0.1:9201']);
  const before = s.source.status().lastSuccessAt;
  atomicWrite(s.path, '# same set, different text\n127.0.0.1:9201\n');
  await waitFor(() => s.source.status().lastSuccessAt !== before, { what: 'the re-read' });
  assert.equal(s.sets.length, 2, 'an unchanged set is not announced again');
  s.source.stop();
});

test('a bad, missing or oversized file keeps the last set, reports the failure, recovers', async () => {
  const s = start('broken.txt');
  writeFileSync(s.path, '127.0.0.1:1\n');
  s.go();
  await waitFor(() => s.sets.length === 1);
  atomicWrite(s.path, '127.0.0.1:1\nnot-an-address\n');
  await waitFor(() => !s.source.status().ok, { what: 'the failure' });
  assert.match(s.source.status().error!, /broken.txt: line 2/);
  assert.equal(s.sets.length, 1, 'last set kept');
  rmSync(s.path);
  await waitFor(() => /ENOENT/.test(s.source.status().error ?? ''), { what: 'the missing file to be reported' });
  writeFileSync(s.path, 'x');
  truncateSync(s.path, MAX_FILE_BYTES + 1);
  await waitFor(() => /larger than/.test(s.source.status().error ?? ''), { what: 'the oversized file to be refused' });
  assert.equal(s.sets.length, 1);
  atomicWrite(s.path, '127.0.0.1:2\n');
  await waitFor(() => s.sets.length === 2, { what: 'recovery' });
  assert.deepEqual(s.sets[1], ['127.0.0.1:2']);
  assert.equal(s.source.status().ok, true);
  assert.equal(s.source.status().consecutiveFailures, 0);
  assert.deepEqual(s.statuses.map((x) => x.ok), [false, true], 'status events on the first failure and on recovery only');
  s.source.stop();
});

test('a file that does not exist yet is picked up when it appears', async () => {
  const s = start('later.txt');
  s.go();
  await waitFor(() => !s.source.status().ok);
  assert.equal(s.source.status().delivered, false);
  writeFileSync(s.path, '127.0.0.1:7\n');
  await waitFor(() => s.sets.length === 1, { what: 'the new file' });
  s.source.stop();
});
