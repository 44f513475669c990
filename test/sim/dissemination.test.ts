import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dissemination, messagesPerPeriod } from './lib/experiments.ts';

// Infection-style dissemination: an update (here a gateway's health record)
// reaches every member, p99 within ceil(log2 n) + 2 periods. Periods are
// counted in GossipInterval (200ms), the stricter unit: a probe period (1s)
// holds five. Push-pull is off so that only gossip counts.

for (const [n, updates] of [
  [16, 40],
  [128, 30],
  [1000, 8],
] as const) {
  test(`n=${n}: every update reaches every member, p99 <= ceil(log2 n)+2 gossip intervals`, (t) => {
    const r = dissemination({ n, updates, seed: 11, spacing: 3000, protocol: { PushPullInterval: 0 } });
    assert.equal(r.complete, updates, 'every update reached every member');
    assert.equal(r.latencies.length, updates * (n - 1));
    const bound = Math.ceil(Math.log2(n)) + 2;
    const p99 = r.p99 / r.gossipInterval;
    t.diagnostic(`n=${n}: p50 ${(r.p50 / r.gossipInterval).toFixed(2)}, p99 ${p99.toFixed(2)}, max ${(r.max / r.gossipInterval).toFixed(2)} gossip intervals (bound ${bound})`);
    assert.ok(p99 <= bound, `p99 ${p99.toFixed(2)} intervals > ${bound}`);
    assert.ok(r.max / r.gossipInterval <= bound + 2, `max ${(r.max / r.gossipInterval).toFixed(2)} intervals`);
  });
}

test('datagrams sent per member per probe period are constant in n (about 2: a ping and an ack)', (t) => {
  const rows = [16, 128, 1000].map((n) => messagesPerPeriod({ n, periods: 20, seed: 5, protocol: { PushPullInterval: 0 } }));
  for (const r of rows) assert.ok(Math.abs(r.perMemberPerPeriod - 2) <= 0.1, `n=${r.n}: ${r.perMemberPerPeriod}`);
  const per = rows.map((r) => r.perMemberPerPeriod);
  t.diagnostic(rows.map((r) => `n=${r.n}: ${r.perMemberPerPeriod.toFixed(3)} per member per period`).join('; '));
  assert.ok(Math.max(...per) / Math.min(...per) <= 1.05, `not constant: ${per.join(', ')}`);
});
