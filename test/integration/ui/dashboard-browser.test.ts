/**
 * The operator dashboard in a real browser (playwright-core driving Debian's
 * chromium, headless, loopback only): three gossiping gateways in two regions
 * and a canary release running on jp-gw-1. The page is checked against what
 * the admin API answers (or, for traffic, against the requests the test sent),
 * then Abort is clicked (cancel first, then confirm) and the rollback is seen,
 * a config version is rolled back from the page, and the page reconnects by
 * itself when the gateway restarts.
 *
 * Screenshots go to $EDGEPLANE_SCREENSHOTS_DIR (docs/img to refresh the
 * README's), else to a temporary directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { chromiumMissing, launchBrowser } from './lib/browser.ts';
import { startFleet, admin, request, TOKEN, type Fleet } from './lib/fleet.ts';
import { waitFor } from '../../helpers/wait.ts';
import { repoRoot } from '../../helpers/gateway-process.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const missing = chromiumMissing();
const ORIGINAL = [{ cluster: 'blue', weight: 100 }, { cluster: 'green', weight: 0 }];

const shotsDir = process.env.EDGEPLANE_SCREENSHOTS_DIR ? resolve(repoRoot, process.env.EDGEPLANE_SCREENSHOTS_DIR) : tempDir('edgeplane-ui-shots-');

const text = (page: Page, selector: string) => page.locator(selector).first().innerText();
const count = (page: Page, selector: string) => page.locator(selector).count();
// Expressions run in the page are strings: this project's TypeScript has no DOM types.
const show = (page: Page, view: string) => page.evaluate(`location.hash = '#${view}'`);

/** Polls the page (and the API, when the expectation comes from it) until they agree. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  await waitFor(check, { timeoutMs, intervalMs: 200, what });
}

/** Steady background traffic on route api (random by weight, now and then a 503 from the upstream), for the charts and the gates. */
function backgroundTraffic(fleet: Fleet): { stop(): Promise<void> } {
  let on = true;
  const loop = (async () => {
    for (let i = 0; on; i++) {
      await request(fleet, 'api.svc.plus', i % 29 === 28 ? '/status/503' : '/').catch(() => 0);
      await new Promise((r) => setTimeout(r, 80));
    }
  })();
  return {
    async stop() {
      on = false;
      await loop;
    },
  };
}

test('operator dashboard in chromium: fleet, routes, endpoints, releases, config; abort, rollback, reconnect', { skip: missing ?? false, timeout: 300_000 }, async (t) => {
  const fleet = await startFleet();
  t.after(() => fleet.close());
  const browser = await launchBrowser();
  t.after(() => browser.close());

  const started = await admin(fleet, 'POST', '/v1/releases', {
    route: 'api', to: 'green', strategy: 'canary', steps: [20, 50, 100], stepDuration: '10m', interval: '500ms',
    // A generous p99 limit: the default 500 ms trips on a loaded CI machine and rolls the release back mid-test.
    gates: { minRequests: 5, maxErrorRate: 50, maxP99Latency: '30s' },
  });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const id: string = started.body.id;
  await waitFor(async () => (await admin(fleet, 'GET', `/v1/releases/${id}`)).body.window !== null, { timeoutMs: 20_000, what: 'the first canary step' });
  const traffic = backgroundTraffic(fleet);
  t.after(() => traffic.stop());

  const page = await browser.context.newPage();
  // Element lookups inside polling loops must fail fast, not wait playwright's default 30 s.
  page.setDefaultTimeout(5000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${fleet.adminUrl}/ui`);

  await t.test('asks for the token, keeps it for the session only, then goes live', async () => {
    await page.waitForSelector('#login:not([hidden])');
    await page.fill('#token', 'not-the-token');
    await page.click('#login-form button[type=submit]');
    await until('the refused token to be said so', async () => /refused/.test(await text(page, '#login-message')));
    await page.fill('#token', TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#conn[data-state=live]');
    const storage = await page.evaluate('({ session: sessionStorage.length, local: localStorage.length, cookies: document.cookie })');
    assert.deepEqual(storage, { session: 1, local: 0, cookies: '' });
  });

  await t.test('fleet: members, region states and effective DNS weights as the API has them', async () => {
    await show(page, 'fleet');
    await until('three alive members on the page', async () => {
      const states = await Promise.all(['jp-gw-1', 'jp-gw-2', 'sg-gw-1'].map((m) => text(page, `[data-member="${m}"] .member-state`).catch(() => '')));
      return states.every((s) => s.includes('alive'));
    });
    assert.match(await text(page, '[data-member="jp-gw-1"]'), /this gateway/);
    assert.match(await text(page, '[data-member="sg-gw-1"] .last-heard'), /ago$/);
    await until('region states and DNS weights equal to /v1/dashboard', async () => {
      const api = (await admin(fleet, 'GET', '/v1/dashboard')).body;
      for (const r of api.fleet.regions) {
        if (!(await text(page, `.region[data-region="${r.region}"] .badge`)).includes(r.state)) return false;
        if ((await text(page, `.region[data-region="${r.region}"] .region-gateways`)) !== `${r.gateways.alive} alive / ${r.gateways.total}`) return false;
      }
      const gtm = api.dns[0];
      if (gtm.name !== 'api.svc.plus' || gtm.regions.length !== 2) return false;
      for (const r of gtm.regions) {
        const bar = page.locator(`[data-gtm="api.svc.plus"] .wbar[data-region="${r.region}"]`);
        if ((await bar.getAttribute('data-effective')) !== String(r.effectiveWeight) || (await bar.getAttribute('data-configured')) !== String(r.configuredWeight)) return false;
      }
      return (await count(page, '.region')) === api.fleet.regions.length && api.fleet.regions.map((r: any) => r.region).join() === 'jp,sg';
    });
  });

  await t.test('routes: configured weights, and measured share and error rate from the requests sent', async () => {
    // Exactly 30 requests to blue and 10 to green (2 of them 500s) on route web, which nothing else calls.
    for (let i = 0; i < 30; i++) assert.equal(await request(fleet, 'web.svc.plus', '/', { 'x-edge-cluster': 'blue' }), 200);
    for (let i = 0; i < 10; i++) assert.equal(await request(fleet, 'web.svc.plus', i % 5 === 4 ? '/status/500' : '/', { 'x-edge-cluster': 'green' }), i % 5 === 4 ? 500 : 200);
    await show(page, 'routes');
    const row = (cluster: string, col: string) => text(page, `[data-route="web"] tr[data-cluster="${cluster}"] .${col}`);
    await until('the web route table to count exactly what was sent', async () => {
      const cells = await Promise.all([row('blue', 'requests'), row('green', 'requests'), row('blue', 'share'), row('green', 'share'), row('blue', 'errors')].map((p) => p.catch(() => '')));
      return cells.join('|') === '30|10|75.0%|25.0%|0.00%';
    });
    // The green error rate carries a warning badge (icon and text), not only a colour.
    assert.match(await row('green', 'errors'), /^✖\s*20\.00%$/);
    assert.equal(await row('blue', 'weight'), '50 (50%)');
    assert.equal(await row('green', 'weight'), '50 (50%)');
    // Route api is under the release: its weights are the canary step's, and it links to the release.
    assert.equal(await text(page, '[data-route="api"] tr[data-cluster="blue"] .weight'), '80 (80%)');
    assert.equal(await text(page, '[data-route="api"] tr[data-cluster="green"] .weight'), '20 (20%)');
    assert.match(await text(page, '[data-route="api"] .route-head'), new RegExp(`release ${id}: progressing at 20%`));
    // Two charts per route, drawn by uPlot (served by the gateway itself).
    assert.equal(await count(page, '[data-route="api"] .uplot'), 2);
    assert.equal(await count(page, '[data-route="web"] .uplot'), 2);
  });

  await t.test('endpoints: states, reasons and since-when as /v1/health reports them', async () => {
    await show(page, 'endpoints');
    const dead = fleet.addresses.dead;
    await until('the dead endpoint unhealthy with the API\'s reason', async () => {
      const health = (await admin(fleet, 'GET', '/v1/health')).body;
      const ep = health.clusters.find((c: any) => c.name === 'blue').endpoints.find((e: any) => e.address === dead);
      if (ep.state !== 'unhealthy') return false;
      const rowSel = `[data-cluster="blue"] tr[data-endpoint="${dead}"]`;
      return (await text(page, `${rowSel} .ep-state`)).includes('unhealthy') && (await text(page, `${rowSel} .ep-reason`)) === ep.reason && (await page.locator(`${rowSel} time`).getAttribute('datetime')) === ep.since;
    });
    for (const a of [...fleet.addresses.blue, fleet.addresses.green]) {
      assert.match(await text(page, `tr[data-endpoint="${a}"] .ep-state`), /healthy/);
    }
    assert.match(await text(page, '[data-cluster="blue"] .card-head'), /2\/3 healthy/);
  });

  await t.test('releases: phase, step, gates against their limits', async () => {
    await show(page, 'releases');
    const card = `[data-release="${id}"]`;
    await page.waitForSelector(`${card} .release-phase`);
    assert.match(await text(page, `${card} .release-phase`), /progressing/);
    assert.match(await text(page, `${card} .step.current`), /20%/);
    assert.equal(await count(page, `${card} .step`), 3);
    assert.match(await text(page, `${card} .gates [data-gate="errorRate"] .gate-limit`), /≤ 50%/);
    assert.match(await text(page, `${card} .gates [data-gate="minRequests"] .gate-limit`), /≥ 5/);
  });

  await t.test('screenshots at 1280 px and at phone width', async () => {
    mkdirSync(shotsDir, { recursive: true });
    if (process.env.EDGEPLANE_SCREENSHOTS_DIR) {
      // Refreshing the README's images: let a minute of samples build up so the charts have some history.
      await waitFor(async () => (await admin(fleet, 'GET', '/v1/dashboard')).body.traffic.samples.length >= 30, { timeoutMs: 120_000, intervalMs: 1000, what: 'a minute of traffic samples' });
    }
    const saved: string[] = [];
    for (const view of ['fleet', 'routes', 'endpoints', 'releases', 'config']) {
      await show(page, view);
      await page.waitForSelector(`#view-${view}:not([hidden]) .view-head`);
      if (view === 'config') await page.waitForSelector('pre.diff');
      const file = join(shotsDir, `dashboard-${view}.png`);
      await page.screenshot({ path: file, fullPage: true });
      saved.push(file);
    }
    await page.setViewportSize({ width: 390, height: 844 });
    await show(page, 'releases');
    // Nothing wider than the phone's screen except inside the scrollable table wrappers.
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.equal(overflow, 0, 'no sideways scrolling at phone width');
    const phone = join(shotsDir, 'dashboard-phone.png');
    await page.screenshot({ path: phone, fullPage: true });
    saved.push(phone);
    await page.setViewportSize({ width: 1280, height: 900 });
    t.diagnostic(`screenshots: ${saved.join(' ')}`);
  });

  await traffic.stop();

  await t.test('gate readings on the page are the API\'s', async () => {
    await show(page, 'releases');
    await until('every gate reading equal to /v1/releases/:id', async () => {
      const r = (await admin(fleet, 'GET', `/v1/releases/${id}`)).body;
      for (const g of r.readings.gates) {
        const shown = await text(page, `[data-release="${id}"] [data-gate="${g.gate}"] .gate-value`).catch(() => '');
        const expected = g.value === null ? '—' : g.gate === 'errorRate' ? `${g.value.toFixed(2)}%` : g.gate === 'p99Latency' ? null : g.value.toLocaleString('en-US');
        if (expected !== null && shown !== expected) return false;
      }
      return r.readings.requests > 0;
      // Background traffic keeps the readings moving: page and API agree only between two updates,
      // which takes longer to catch on a loaded machine.
    }, 90_000);
  });

  await t.test('abort: cancel changes nothing; confirm rolls the route back', async () => {
    const abort = page.locator(`[data-release="${id}"] [data-action="abort"]`);
    await abort.focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('#confirm[open]');
    assert.match(await text(page, '#confirm'), /blue 100 \/ green 0/);
    await page.click('#confirm button[value=cancel]');
    await page.waitForSelector('#confirm[open]', { state: 'detached' });
    assert.equal((await admin(fleet, 'GET', `/v1/releases/${id}`)).body.phase, 'progressing', 'cancel does nothing');

    await abort.click();
    await page.click('#confirm [data-confirm=ok]');
    await until('the release aborted in the API', async () => (await admin(fleet, 'GET', `/v1/releases/${id}`)).body.phase === 'aborted');
    assert.deepEqual((await admin(fleet, 'GET', '/v1/config')).body.config.routes[0].split, ORIGINAL);
    await until('the page to show it finished as aborted', async () => (await count(page, `.finished tr[data-release="${id}"]`)) === 1 && (await text(page, `.finished tr[data-release="${id}"] .release-phase`)).includes('aborted'));
    assert.match(await text(page, '#toast'), new RegExp(`Abort ${id}: done`));
    assert.equal(await count(page, `section[data-release="${id}"]`), 0, 'no running card left');
    await show(page, 'routes');
    await until('route api back to blue 100 / green 0', async () => (await text(page, '[data-route="api"] tr[data-cluster="blue"] .weight')) === '100 (100%)' && (await text(page, '[data-route="api"] tr[data-cluster="green"] .weight')) === '0 (0%)');
    assert.doesNotMatch(await text(page, '[data-route="api"] .route-head'), /release/);
  });

  await t.test('config: version, history, diff of the rollback, and rollback from the page', async () => {
    await show(page, 'config');
    const versions = (await admin(fleet, 'GET', '/v1/versions')).body;
    await until('the current version and every kept version listed', async () => (await text(page, '.current-version')) === `version ${versions.current}` && (await count(page, 'table.versions tbody tr')) === versions.versions.length);
    // Default diff: the previous version (the canary step) to the current one (the abort's rollback).
    await until('the diff of the abort', async () => {
      const del = await page.locator('pre.diff .del').allInnerTexts();
      const add = await page.locator('pre.diff .add').allInnerTexts();
      return del.some((l) => /cluster: blue, weight: 80/.test(l)) && add.some((l) => /cluster: blue, weight: 100/.test(l));
    });
    const step = (await admin(fleet, 'GET', `/v1/releases/${id}`)).body.versions[0] as number;
    await page.click(`[data-rollback="${step}"]`);
    await page.click('#confirm [data-confirm=ok]');
    await until('the rollback applied as a new version', async () => (await admin(fleet, 'GET', '/v1/versions')).body.current === versions.current + 1);
    const after = (await admin(fleet, 'GET', '/v1/config')).body;
    assert.deepEqual(after.config.routes[0].split, [{ cluster: 'blue', weight: 80 }, { cluster: 'green', weight: 20 }]);
    await until('the page on the new version', async () => (await text(page, '.current-version')) === `version ${after.version}`);
    assert.match(await text(page, `table.versions tr[data-version="${after.version}"]`), new RegExp(`rollback of v${step}.*dashboard`, 's'));
  });

  await t.test('reconnects by itself when the gateway restarts', async () => {
    const reconnecting = page.waitForSelector('#conn[data-state=reconnecting]', { timeout: 60_000 });
    await Promise.all([reconnecting, fleet.restartMain()]);
    await page.waitForSelector('#conn[data-state=live]', { timeout: 60_000 });
    const current = (await admin(fleet, 'GET', '/v1/versions')).body.current;
    await until('the restarted gateway\'s state on the page', async () => (await text(page, '.current-version')) === `version ${current}`);
    await show(page, 'fleet');
    await until('the restarted gateway alive among its peers', async () => (await text(page, '[data-member="jp-gw-1"] .member-state').catch(() => '')).includes('alive') && (await count(page, '[data-member]')) === 3);
  });

  assert.deepEqual(errors, [], 'no uncaught errors in the page');
});
