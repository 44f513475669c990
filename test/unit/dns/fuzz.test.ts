import { CookieJar, cookieSettings } from '../../../src/dns/cookies.ts';
import { identityFrom } from '../../../src/dns/identity.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuery, ParsedQuery } from '../../../src/dns/wire/query.ts';
import { decodeMessage, DnsDecodeError } from '../../../src/dns/wire/decode.ts';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { Rcode, RRType } from '../../../src/dns/wire/constants.ts';
import { Responder } from '../../../src/dns/responder.ts';
import { AnswerCache } from '../../../src/dns/answer/cache.ts';
import { GeoLocator } from '../../../src/dns/geo/locator.ts';
import { compileZones } from '../../../src/dns/zone/compile.ts';
import { ResponseRateLimiter, rrlSettings } from '../../../src/dns/rrl.ts';
import { StaticRegionView } from '../../../src/dns/region-view.ts';
import { ManualClock } from '../../../src/util/clock.ts';
import { seededRng } from '../../../src/util/rng.ts';
import { testConfig } from '../../integration/dns/helpers.ts';
import { fuzzPacket, seedQueries } from './helpers/fuzz.ts';

const N = 100_000;

test(`parser: ${N} random and mutated packets never throw; the full decoder fails only with DnsDecodeError`, () => {
  const rng = seededRng(0xd15ea5e);
  const seeds = seedQueries();
  const q = new ParsedQuery();
  const statuses = new Map<number, number>();
  let decodeErrors = 0;
  // most fuzzed packets make the decoder throw; capturing 90k stack traces would be most of the run
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  for (let i = 0; i < N; i++) {
    const p = fuzzPacket(rng, seeds);
    const st = parseQuery(p, q);
    statuses.set(st, (statuses.get(st) ?? 0) + 1);
    try {
      decodeMessage(p);
    } catch (err) {
      if (!(err instanceof DnsDecodeError)) throw err;
      decodeErrors++;
    }
  }
  Error.stackTraceLimit = limit;
  // the corpus exercises every outcome, not just one
  assert.equal(statuses.size, 5, JSON.stringify([...statuses]));
  assert.ok(decodeErrors > N / 10);
});

test(`responder: ${N} fuzzed queries get a well-formed reply or none, and valid queries still answer correctly`, () => {
  const config = testConfig({ rrl: { nxdomainsPerSecond: 50, errorsPerSecond: 50 } });
  const { zones, issues } = compileZones(config);
  assert.deepEqual(issues, []);
  const view = new StaticRegionView();
  const cache = new AnswerCache(zones, new GeoLocator([]), view);
  const rrl = new ResponseRateLimiter(rrlSettings(config.rrl), new ManualClock());
  const responder = new Responder({ cache, rrl, udpSize: 1232, maxCandidates: 4, identity: identityFrom({ serverId: 'fuzz-ns', version: true }), cookies: new CookieJar(cookieSettings({ secret: '000102030405060708090a0b0c0d0e0f' })), nowSeconds: () => 1_800_000_000 }, seededRng(3));
  const rng = seededRng(0xfeed);
  const seeds = seedQueries();
  let replies = 0;
  for (let i = 0; i < N; i++) {
    const p = fuzzPacket(rng, seeds);
    const tcp = (i & 7) === 0;
    const out = responder.answer(p, `198.51.100.${i & 255}`, tcp);
    if (!out) continue;
    replies++;
    const m = decodeMessage(out); // throws if we ever emit garbage
    assert.ok(m.qr);
    assert.equal(m.id, p.readUInt16BE(0));
    if (!tcp) assert.ok(out.length <= 1232);
  }
  assert.ok(replies > N / 3, `${replies} replies`);
  const ok = decodeMessage(responder.answer(buildQuery('static.svc.plus', { id: 77 }), '192.0.2.1', false)!);
  assert.equal(ok.id, 77);
  assert.equal(ok.rcode, Rcode.NOERROR);
  assert.deepEqual(ok.answers.map((a) => a.data).sort(), ['192.0.2.10', '192.0.2.11']);
  const nx = decodeMessage(responder.answer(buildQuery('nope.svc.plus', { type: RRType.AAAA }), '192.0.2.1', true)!);
  assert.equal(nx.rcode, Rcode.NXDOMAIN);
});
