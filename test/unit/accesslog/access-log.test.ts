import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessLog, AccessLogs, AccessLogOpenError, queryRedactor, type AccessRecord } from '../../../src/edge/access-log/index.ts';
import { seededRng } from '../../../src/util/rng.ts';

function record(over: Partial<AccessRecord> = {}): AccessRecord {
  return {
    startedAt: Date.UTC(2026, 11, 7, 12, 34, 56, 789),
    clientAddress: '192.0.2.7',
    method: 'GET',
    authority: 'api.svc.plus',
    path: '/v1/items?page=2',
    protocol: 'HTTP/1.1',
    status: 200,
    bytesIn: 0,
    bytesOut: 1234,
    userAgent: 'curl/8.5.0',
    referer: 'https://app.svc.plus/list?page=1',
    route: 'api',
    cluster: 'api-blue',
    endpoint: '127.0.0.1:9101',
    attempts: 1,
    upstreamConnectMs: 0.25,
    upstreamResponseMs: 3.5,
    totalMs: 4.125,
    requestId: 'req-1',
    tlsVersion: 'TLSv1.3',
    sni: 'api.svc.plus',
    jwtSubject: undefined,
    error: undefined,
    ...over,
  };
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-accesslog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

test('JSON lines carry every field and parse with jq', async (t) => {
  if (!has('jq')) return t.skip('jq is not installed (apt-get install jq)');
  const dir = tempDir(t);
  const log = new AccessLog({ path: 'access.log', jwtSubject: true }, { baseDir: dir });
  log.write(record({ jwtSubject: 'user-1' }));
  log.write(record({ method: 'POST', status: 502, bytesIn: 17, error: 'upstream_reset', upstreamResponseMs: -1, userAgent: 'we"ird\\agent\n' }));
  await log.close();
  const file = join(dir, 'access.log');
  const jq = spawnSync('jq', ['-c', '[.time, .clientAddress, .method, .authority, .path, .protocol, .status, .bytesIn, .bytesOut, .userAgent, .referer, .route, .cluster, .endpoint, .attempts, .upstreamConnectMs, .upstreamResponseMs, .totalMs, .requestId, .tlsVersion, .sni, .jwtSubject, .error]', file], { encoding: 'utf8' });
  assert.equal(jq.status, 0, jq.stderr);
  const rows = jq.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown[]);
  assert.deepEqual(rows[0], ['2026-12-07T12:34:56.789Z', '192.0.2.7', 'GET', 'api.svc.plus', '/v1/items?page=2', 'HTTP/1.1', 200, 0, 1234, 'curl/8.5.0', 'https://app.svc.plus/list?page=1', 'api', 'api-blue', '127.0.0.1:9101', 1, 0.25, 3.5, 4.125, 'req-1', 'TLSv1.3', 'api.svc.plus', 'user-1', null]);
  assert.deepEqual(rows[1]!.slice(6, 10), [502, 17, 1234, 'we"ird\\agent\n']);
  assert.equal(rows[1]![16], null, 'no upstream response: the field is left out');
  assert.equal(rows[1]![22], 'upstream_reset');
});

test('combined lines parse with GoAccess (every line valid, status, bytes, referrer, agent, user)', async (t) => {
  if (!has('goaccess')) return t.skip('goaccess is not installed (apt-get install goaccess)');
  const dir = tempDir(t);
  const log = new AccessLog({ path: 'access.log', format: 'combined', jwtSubject: true }, { baseDir: dir });
  log.write(record());
  log.write(record({ clientAddress: '2001:db8::1', method: 'POST', path: '/upload', protocol: 'HTTP/2.0', status: 429, bytesOut: 57, referer: undefined, userAgent: 'Mozilla/5.0 "quoted" \u00e9', jwtSubject: 'alice' }));
  log.write(record({ status: 503, bytesOut: 0, userAgent: undefined, path: '/a b"c' }));
  await log.close();
  const file = join(dir, 'access.log');
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines[0], '192.0.2.7 - - [07/Dec/2026:12:34:56 +0000] "GET /v1/items?page=2 HTTP/1.1" 200 1234 "https://app.svc.plus/list?page=1" "curl/8.5.0"');
  assert.equal(lines[1], '2001:db8::1 - alice [07/Dec/2026:12:34:56 +0000] "POST /upload HTTP/2.0" 429 57 "-" "Mozilla/5.0 \\x22quoted\\x22 \\xC3\\xA9"');
  const out = join(dir, 'report.json');
  const run = spawnSync('goaccess', [file, '--log-format=COMBINED', '--no-global-config', '-o', out], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(readFileSync(out, 'utf8')) as Record<string, { data?: { data: string; hits: { count: number }; bytes?: { count: number } }[] } & Record<string, unknown>>;
  const general = report.general as unknown as { total_requests: number; valid_requests: number; failed_requests: number; bandwidth: number };
  assert.deepEqual([general.total_requests, general.valid_requests, general.failed_requests, general.bandwidth], [3, 3, 0, 1234 + 57]);
  const panel = (name: string) => Object.fromEntries((report[name]!.data ?? []).map((d) => [d.data, d.hits.count]));
  assert.deepEqual(panel('status_codes'), { '2xx Success': 1, '4xx Client Errors': 1, '5xx Server Errors': 1 });
  assert.deepEqual(Object.keys(panel('hosts')).sort(), ['192.0.2.7', '2001:db8::1']);
  assert.equal(panel('referrers')['https://app.svc.plus/list?page=1'], 2);
  assert.deepEqual(Object.keys(panel('requests')).sort(), ['/a b\\x22c', '/upload', '/v1/items?page=2'].sort(), 'quotes escaped as nginx does, which GoAccess keeps');
});

test('query values that carry credentials are redacted in path and referrer; others kept', () => {
  const r = queryRedactor(['X-Sig']);
  assert.equal(r('/a?token=abc.def.ghi&page=2'), '/a?token=[redacted]&page=2');
  assert.equal(r('/a?page=2&ACCESS_TOKEN=s3cret&%6Aw%74=x#frag'), '/a?page=2&ACCESS_TOKEN=[redacted]&%6Aw%74=[redacted]#frag');
  assert.equal(r('/a?x-sig=1&ok=1'), '/a?x-sig=[redacted]&ok=1');
  assert.equal(r('/plain/path'), '/plain/path');
  assert.equal(r('/a?tokenize=1'), '/a?tokenize=1');
});

test('sampling logs the configured share, and every 5xx', async (t) => {
  const dir = tempDir(t);
  const log = new AccessLog({ path: 'a.log', sample: 0.25 }, { baseDir: dir, rng: seededRng(7) });
  let ok = 0;
  for (let i = 0; i < 4000; i++) if (log.sampled(200)) ok++;
  assert.ok(ok > 850 && ok < 1150, `sampled ${ok} of 4000 at 0.25`);
  for (let i = 0; i < 100; i++) assert.equal(log.sampled(503), true);
  const none = new AccessLog({ path: 'b.log', sample: 0 }, { baseDir: dir });
  assert.equal(none.sampled(404), false);
  assert.equal(none.sampled(500), true);
  await Promise.all([log.close(), none.close()]);
});

test('reopen after a rename (logrotate): no line lost or reordered, lines after the reopen go to the new file', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'access.log');
  const log = new AccessLog({ path: file }, { baseDir: dir });
  for (let i = 0; i < 50; i++) log.write(record({ requestId: `a${i}` }));
  // Rename while lines may still be buffered or being written: they land in one file or the other, in order.
  renameSync(file, `${file}.1`);
  log.reopen();
  for (let i = 0; i < 50; i++) log.write(record({ requestId: `b${i}` }));
  await log.sink.flushed();
  log.reopen();
  for (let i = 0; i < 10; i++) log.write(record({ requestId: `c${i}` }));
  await log.close();
  const ids = (p: string) => readFileSync(p, 'utf8').split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { requestId: string }).requestId);
  const old = ids(`${file}.1`);
  const current = ids(file);
  assert.deepEqual([...old, ...current], [...Array.from({ length: 50 }, (_, i) => `a${i}`), ...Array.from({ length: 50 }, (_, i) => `b${i}`), ...Array.from({ length: 10 }, (_, i) => `c${i}`)]);
  assert.ok(current.length >= 10, 'lines after the last reopen are in the new file');
  assert.ok(current.length < 110 || old.length === 0);
});

test('config changes: unchanged settings keep the log; a bad path fails before anything changes', async (t) => {
  const dir = tempDir(t);
  const logs = new AccessLogs({ baseDir: dir });
  const a = logs.prepare({ path: 'one.log' });
  logs.commit({ path: 'one.log' }, a);
  assert.equal(logs.prepare({ path: 'one.log' }), a);
  assert.throws(() => logs.prepare({ path: 'missing-dir/x.log' }), (err: unknown) => err instanceof AccessLogOpenError && /missing-dir\/x\.log: ENOENT/.test(err.message));
  assert.equal(logs.current, a);
  const b = logs.prepare({ path: 'two.log', format: 'combined' });
  logs.discard(b); // the apply failed later
  assert.equal(logs.current, a);
  assert.equal(logs.prepare(false), null);
  logs.commit(false, null);
  assert.equal(logs.current, null);
  await logs.close();
  assert.ok(existsSync(join(dir, 'one.log')));
});
