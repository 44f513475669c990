import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { ManualClock } from '../../../src/util/clock.ts';
import { seededRng } from '../../../src/util/rng.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { DnsSource, type Resolution } from '../../../src/discovery/dns.ts';
import { DiscoveryError } from '../../../src/discovery/errors.ts';

function setup(minIntervalMs = 5000, maxIntervalMs = 300_000) {
  const clock = new ManualClock();
  const answers: (Resolution | Error)[] = [];
  const asked: number[] = [];
  const sets: string[][] = [];
  const source = new DnsSource({
    cluster: 'dns-test',
    name: 'api.svc.plus',
    type: 'A',
    port: 80,
    minIntervalMs,
    maxIntervalMs,
    clock,
    rng: seededRng(9),
    logger: silentLogger,
    resolver: async () => {
      asked.push(clock.now());
      const a = answers.shift() ?? new Error('no scripted answer');
      if (a instanceof Error) throw a;
      return a;
    },
  });
  const go = () => source.start({ endpoints: (a) => sets.push([...a]) });
  return { clock, answers, asked, sets, source, go };
}

const flush = async () => {
  for (let i = 0; i < 3; i++) await tick();
};

test('re-resolves when the TTL runs out, clamped to [minInterval, maxInterval]', async () => {
  const { clock, answers, asked, sets, source, go } = setup(5000, 60_000);
  answers.push({ addresses: ['10.0.0.1:80'], ttl: 30 }, { addresses: ['10.0.0.1:80', '10.0.0.2:80'], ttl: 1 }, { addresses: ['10.0.0.2:80'], ttl: 86_400 }, { addresses: ['10.0.0.2:80'], ttl: 10 });
  go();
  await flush();
  assert.deepEqual(sets, [['10.0.0.1:80']]);
  clock.advance(29_999);
  await flush();
  assert.equal(asked.length, 1);
  clock.advance(1);
  await flush();
  assert.deepEqual(asked, [0, 30_000], 'at the TTL');
  assert.deepEqual(sets[1], ['10.0.0.1:80', '10.0.0.2:80']);
  clock.advance(5000);
  await flush();
  assert.equal(asked[2], 35_000, 'TTL 1s clamped up to minInterval 5s');
  clock.advance(60_000);
  await flush();
  assert.equal(asked[3], 95_000, 'TTL of a day clamped down to maxInterval 60s');
  assert.equal(sets.length, 3, 'unchanged answers are not announced');
  source.stop();
  assert.equal(clock.pending, 0);
});

test('failures and empty answers keep the last set and retry with growing, bounded backoff', async () => {
  const { clock, answers, asked, sets, source, go } = setup(5000, 60_000);
  answers.push({ addresses: ['10.0.0.1:80'], ttl: 5 });
  for (let i = 0; i < 8; i++) answers.push(i === 3 ? { addresses: [], ttl: 5 } : new DiscoveryError('EP_DISCOVERY_DNS', 'timed out'));
  answers.push({ addresses: ['10.0.0.3:80'], ttl: 5 });
  go();
  await flush();
  clock.advance(5000);
  await flush();
  assert.equal(source.status().ok, false);
  assert.equal(source.status().error, 'timed out');
  // Small steps: a resolution settles asynchronously, and its retry is scheduled from the clock's time then.
  for (let i = 0; i < 4000 && asked.length < 10; i++) {
    clock.advance(250);
    await flush();
  }
  assert.equal(asked.length, 10);
  const gaps = asked.slice(2).map((t, i) => t - asked[i + 1]!);
  for (const g of gaps) assert.ok(g >= 1000 && g <= 60_250, `retry gap ${g}`);
  assert.ok(gaps.slice(0, 5).some((g, i) => i > 0 && g > gaps[0]!), `backoff grows: ${gaps}`);
  assert.deepEqual(sets, [['10.0.0.1:80'], ['10.0.0.3:80']], 'no empty set was ever applied');
  assert.equal(source.status().ok, true);
  source.stop();
});

test('A/AAAA without a port is refused at construction', () => {
  assert.throws(
    () => new DnsSource({ cluster: 'x', name: 'a', type: 'A', port: undefined, minIntervalMs: 1, maxIntervalMs: 2, clock: new ManualClock(), rng: seededRng(1), logger: silentLogger, resolver: async () => ({ addresses: [], ttl: 0 }) }),
    (err: unknown) => err instanceof DiscoveryError && err.code === 'EP_DISCOVERY_OPTIONS',
  );
});
