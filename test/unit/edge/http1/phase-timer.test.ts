import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhaseTimer } from '../../../../src/edge/http1/phase-timer.ts';
import { waitFor } from '../../../helpers/wait.ts';

// Real timers with short phases: the assertions are about which phase fires, never about how long it took.

test('a phase fires once, with its own kind', async () => {
  const fired: string[] = [];
  const t = new PhaseTimer<string>((k) => fired.push(k));
  t.arm('headers', 15);
  await waitFor(() => fired.length > 0, { what: 'the phase to fire' });
  assert.deepEqual(fired, ['headers']);
  t.stop();
});

test('a later deadline replaces an earlier one: only the last phase fires', async () => {
  const fired: string[] = [];
  const t = new PhaseTimer<string>((k) => fired.push(k));
  t.arm('headers', 10);
  t.arm('body', 60);
  await waitFor(() => fired.length > 0, { what: 'the phase to fire' });
  assert.deepEqual(fired, ['body']);
  t.stop();
});

test('a shorter phase after a long one fires at its own deadline (the pending timer is rescheduled)', async () => {
  const fired: string[] = [];
  const t = new PhaseTimer<string>((k) => fired.push(k));
  t.arm('idle', 600_000);
  t.arm('headers', 10);
  await waitFor(() => fired.length > 0, { timeoutMs: 5000, what: 'the short phase to fire' });
  assert.deepEqual(fired, ['headers']);
  t.stop();
});

test('refresh() pushes the deadline; disarm() and stop() keep it from firing', async () => {
  const fired: string[] = [];
  const t = new PhaseTimer<string>((k) => fired.push(k));
  const marker: string[] = [];
  const clock = new PhaseTimer<string>((k) => marker.push(k));
  t.arm('idle', 20);
  t.disarm();
  const s = new PhaseTimer<string>((k) => fired.push(`stopped-${k}`));
  s.arm('idle', 20);
  s.stop();
  clock.arm('later', 120);
  await waitFor(() => marker.length > 0, { what: 'the marker phase' });
  assert.equal(fired.length, 0, `neither the disarmed nor the stopped phase fired: ${fired.join(',')}`);
  // Progress keeps a body phase alive past its first deadline.
  const r = new PhaseTimer<string>((k) => fired.push(k));
  r.arm('body', 40);
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    r.refresh();
  }
  await waitFor(() => fired.length > 0, { what: 'the refreshed phase to fire' });
  assert.deepEqual(fired, ['body']);
  r.stop();
  clock.stop();
});
