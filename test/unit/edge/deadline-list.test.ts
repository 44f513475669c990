import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineList, type Deadline, type DeadlineClock } from '../../../src/edge/deadline-list.ts';

/** A manual clock: timers run when advance() passes their time. */
function fakeClock() {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  const clock: DeadlineClock = {
    now: () => now,
    schedule: (fn, ms) => timers.push({ at: now + ms, fn }),
  };
  return {
    clock,
    get pending() {
      return timers.length;
    },
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (t === undefined || t.at > end) break;
        timers = timers.slice(1);
        now = t.at;
        t.fn();
      }
      now = end;
    },
  };
}

class Entry implements Deadline {
  deadlinePrev: Deadline | null = null;
  deadlineNext: Deadline | null = null;
  deadlineAt = -1;
  passedAt = -1;
  constructor(readonly name: string, readonly log: string[], readonly clock: DeadlineClock) {}
  deadlinePassed(): void {
    this.passedAt = this.clock.now();
    this.log.push(this.name);
  }
}

test('each entry passes its deadline on time, in order; removed entries never do', () => {
  const c = fakeClock();
  const list = new DeadlineList(100, c.clock);
  const log: string[] = [];
  const a = new Entry('a', log, c.clock);
  const b = new Entry('b', log, c.clock);
  const d = new Entry('d', log, c.clock);
  list.add(a, 0);
  c.advance(30);
  list.add(b, 30);
  c.advance(10);
  list.add(d, 40);
  list.remove(b);
  c.advance(59);
  assert.deepEqual(log, []);
  c.advance(1);
  assert.deepEqual(log, ['a']);
  assert.equal(a.passedAt, 100);
  c.advance(39);
  assert.deepEqual(log, ['a']);
  c.advance(1);
  assert.deepEqual(log, ['a', 'd']);
  assert.equal(d.passedAt, 140);
  assert.ok(list.empty);
  assert.equal(b.deadlineAt, -1);
});

test('one timer for the list however many entries come and go', () => {
  const c = fakeClock();
  const list = new DeadlineList(1000, c.clock);
  const log: string[] = [];
  for (let i = 0; i < 500; i++) {
    const e = new Entry(String(i), log, c.clock);
    list.add(e, i);
    c.advance(1);
    list.remove(e);
  }
  assert.equal(c.pending, 1);
  // The early wake-up finds nothing live and does not re-arm.
  c.advance(2000);
  assert.equal(c.pending, 0);
  assert.deepEqual(log, []);
});

test('a wake-up for a removed head re-arms for the oldest live entry', () => {
  const c = fakeClock();
  const list = new DeadlineList(100, c.clock);
  const log: string[] = [];
  const a = new Entry('a', log, c.clock);
  const b = new Entry('b', log, c.clock);
  list.add(a, 0);
  c.advance(50);
  list.add(b, 50);
  list.remove(a);
  c.advance(100);
  assert.deepEqual(log, ['b']);
  assert.equal(b.passedAt, 150);
});

test('removing the middle, head and tail keeps the links whole; remove twice is a no-op', () => {
  const c = fakeClock();
  const list = new DeadlineList(10, c.clock);
  const log: string[] = [];
  const es = ['a', 'b', 'c', 'd', 'e'].map((n) => new Entry(n, log, c.clock));
  for (const e of es) list.add(e, 0);
  list.remove(es[2]!);
  list.remove(es[0]!);
  list.remove(es[4]!);
  list.remove(es[4]!);
  c.advance(10);
  assert.deepEqual(log, ['b', 'd']);
  // A listed entry can be listed again after it passed.
  list.add(es[0]!, c.clock.now());
  c.advance(10);
  assert.deepEqual(log, ['b', 'd', 'a']);
});
