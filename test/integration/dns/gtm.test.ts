import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { DnsConfig } from '../../../src/config/schema/index.ts';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { Rcode, RRType } from '../../../src/dns/wire/constants.ts';
import { ConfigError } from '../../../src/util/errors.ts';
import { registry } from '../../../src/metrics/registry.ts';
import { startServer, udpQuery, tcpQuery, type Started } from './helpers.ts';

function gtmConfig(extra: Partial<DnsConfig> = {}): DnsConfig {
  return {
    listen: ['127.0.0.1:0'],
    rrl: { enabled: false },
    zones: [
      {
        origin: 'gtm.test',
        soa: { mname: 'ns1.gtm.test', rname: 'hostmaster.gtm.test', refresh: 3600, retry: 600, expire: 86400, minimum: 60 },
        nameservers: ['ns1.gtm.test'],
        records: [
          { name: 'ns1', type: 'A', value: '192.0.2.53' },
          { name: 'www', type: 'CNAME', value: 'api.gtm.test' },
          { name: 'api', type: 'TXT', value: 'gtm name with a TXT beside it' },
        ],
        gtm: [
          {
            name: 'api',
            ttl: 20,
            regions: [
              { region: 'jp', vips: ['203.0.113.10', '2001:db8::10'], weight: 120, fallback: ['sg'] },
              { region: 'sg', vips: ['198.51.100.10'], weight: 80 },
              { region: 'us', vips: ['192.0.2.30'], weight: 50 },
            ],
          },
          {
            name: 'all',
            answers: 'all',
            regions: [
              { region: 'jp', vips: ['203.0.113.20', '203.0.113.21'], weight: 1 },
              { region: 'sg', vips: ['198.51.100.20'], weight: 1 },
              { region: 'us', vips: ['192.0.2.20'], weight: 1 },
            ],
          },
          {
            name: 'many',
            answers: 'all',
            regions: [{ region: 'us', vips: Array.from({ length: 40 }, (_, i) => `192.0.2.${100 + i}`), weight: 1 }],
          },
        ],
      },
    ],
    geo: {
      networks: [
        { cidr: '203.0.113.0/24', region: 'jp' },
        { cidr: '198.51.100.0/24', region: 'sg' },
        { cidr: '192.0.2.0/24', region: 'us' },
        { cidr: '2001:db8:5::/48', region: 'sg' },
      ],
    },
    ...extra,
  };
}

const servers: Started[] = [];
after(async () => {
  for (const s of servers) await s.server.close();
});
async function start(config = gtmConfig()): Promise<Started> {
  const s = await startServer(config);
  servers.push(s);
  return s;
}

const a = (name: string, subnet?: string, type: number = RRType.A) => buildQuery(name, { type, ...(subnet ? { edns: { clientSubnet: subnet } } : {}) });
const ecsOf = (r: Awaited<ReturnType<typeof udpQuery>>) => {
  const o = r.opt?.options.find((x) => x.code === 8);
  return o ? { family: o.data.readUInt16BE(0), source: o.data[2], scope: o.data[3], address: [...o.data.subarray(4)] } : undefined;
};

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const data = await m.get();
  const hit = data.values.find((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, string>)[k] === val));
  return hit?.value ?? 0;
}

test('ECS places the client: geo answer for its region with a true scope prefix', async () => {
  const s = await start();
  const jp = await udpQuery(s.port, a('api.gtm.test', '203.0.113.77/24'));
  assert.equal(jp.rcode, Rcode.NOERROR);
  assert.ok(jp.aa);
  assert.deepEqual(jp.answers.map((x) => x.data), ['203.0.113.10']);
  assert.equal(jp.answers[0]!.ttl, 20);
  assert.deepEqual(ecsOf(jp), { family: 1, source: 24, scope: 24, address: [203, 0, 113] });
  const sg = await udpQuery(s.port, a('api.gtm.test', '198.51.100.0/24'));
  assert.deepEqual(sg.answers.map((x) => x.data), ['198.51.100.10']);
  // a /16 source can't decide between the /24 entries below it: it is answered for the /16, scope 16
  const wide = await udpQuery(s.port, a('api.gtm.test', '203.0.0.0/16'));
  assert.equal(ecsOf(wide)!.scope, 16);
  // source 0: the client asked not to be located; the answer is for everyone
  const anon = await udpQuery(s.port, a('api.gtm.test', '0.0.0.0/0'));
  assert.equal(ecsOf(anon)!.scope, 0);
  assert.equal(anon.answers.length, 1);
  // IPv6 ECS and an AAAA answer (jp is the only region with an IPv6 VIP)
  const v6 = await udpQuery(s.port, a('api.gtm.test', '2001:db8:5::/56', RRType.AAAA));
  assert.deepEqual(v6.answers.map((x) => x.data), ['2001:db8::10']);
  assert.equal(ecsOf(v6)!.family, 2);
});

test('without ECS the resolver address locates the client', async () => {
  const cfg = gtmConfig();
  cfg.geo!.networks!.push({ cidr: '127.0.0.0/8', region: 'sg' });
  const s = await start(cfg);
  for (let i = 0; i < 20; i++) {
    const r = await udpQuery(s.port, a('api.gtm.test'));
    assert.deepEqual(r.answers.map((x) => x.data), ['198.51.100.10']);
    assert.equal(r.opt, undefined);
  }
  const t = await tcpQuery(s.port, a('api.gtm.test'));
  assert.deepEqual(t.answers.map((x) => x.data), ['198.51.100.10'], 'TCP peers too');
});

test('unlocated clients get a weighted pick among up regions; static names echo ECS with scope 0', async () => {
  const s = await start();
  const counts = new Map<string, number>();
  for (let i = 0; i < 500; i++) {
    const r = await udpQuery(s.port, a('api.gtm.test', '100.64.0.0/24'));
    const ip = r.answers[0]!.data;
    counts.set(ip, (counts.get(ip) ?? 0) + 1);
    if (i === 0) assert.ok(ecsOf(r)!.scope > 0, 'the answer depends on the client: scope is not 0');
  }
  // 120 : 80 : 50
  const share = (ip: string) => (counts.get(ip) ?? 0) / 500;
  assert.ok(Math.abs(share('203.0.113.10') - 0.48) < 0.08, JSON.stringify([...counts]));
  assert.ok(Math.abs(share('198.51.100.10') - 0.32) < 0.08, JSON.stringify([...counts]));
  assert.ok(Math.abs(share('192.0.2.30') - 0.2) < 0.08, JSON.stringify([...counts]));
  const st = await udpQuery(s.port, a('ns1.gtm.test', '203.0.113.0/24'));
  assert.equal(ecsOf(st)!.scope, 0);
  const txt = await udpQuery(s.port, buildQuery('api.gtm.test', { type: RRType.TXT }));
  assert.equal(txt.answers[0]!.type, RRType.TXT, 'static records beside a GTM name');
  const nodata = await udpQuery(s.port, a('api.gtm.test', undefined, RRType.MX));
  assert.equal(nodata.answers.length, 0);
  assert.equal(nodata.authority[0]!.type, RRType.SOA);
});

test('region view changes re-plan answers at once: down region -> its fallback, back up -> geo again', async () => {
  const s = await start();
  const jpClient = () => udpQuery(s.port, a('api.gtm.test', '203.0.113.0/24')).then((r) => r.answers.map((x) => x.data));
  assert.deepEqual(await jpClient(), ['203.0.113.10']);
  s.view.set('jp', { state: 'down', health: 0 });
  for (let i = 0; i < 10; i++) assert.deepEqual(await jpClient(), ['198.51.100.10'], 'fallback sg');
  s.view.set('sg', { state: 'down', health: 0 });
  for (let i = 0; i < 10; i++) assert.deepEqual(await jpClient(), ['192.0.2.30'], 'only us is left');
  const w = s.server.gtmWeights().find((g) => g.name === 'api.gtm.test')!;
  assert.deepEqual(w.regions.map((r) => [r.region, r.state, r.effectiveWeight]), [['jp', 'down', 0], ['sg', 'down', 0], ['us', 'unknown', 50]]);
  assert.deepEqual(w.regions[0]!.vips, ['203.0.113.10', '2001:db8::10']);
  // jp held the only IPv6 VIP: AAAA answers now fail open (A answers still have us)
  assert.equal(w.failOpen, true);
  s.view.set('jp', { state: 'degraded', health: 0.5 });
  assert.deepEqual(await jpClient(), ['203.0.113.10']);
  assert.equal(s.server.gtmWeights().find((g) => g.name === 'api.gtm.test')!.regions[0]!.effectiveWeight, 60);
});

test('fail open: all regions down still answers, and counts it', async () => {
  const s = await start();
  for (const r of ['jp', 'sg', 'us']) s.view.set(r, { state: 'down', health: 0 });
  const before = await metric('edgeplane_dns_gtm_fail_open_total', { name: 'api.gtm.test' });
  const seen = new Set<string>();
  for (let i = 0; i < 30; i++) seen.add((await udpQuery(s.port, a('api.gtm.test', '100.64.0.0/24'))).answers[0]!.data);
  assert.ok(seen.size >= 2, 'answers spread over the configured regions');
  assert.equal(await metric('edgeplane_dns_gtm_fail_open_total', { name: 'api.gtm.test' }), before + 30);
  assert.ok(s.server.gtmWeights().find((g) => g.name === 'api.gtm.test')!.failOpen);
});

test('answers: all returns every up VIP, the client\'s region first; too many for 512 bytes returns fewer, not TC', async () => {
  const s = await start();
  const r = await udpQuery(s.port, a('all.gtm.test', '203.0.113.0/24'));
  const ips = r.answers.map((x) => x.data);
  assert.equal(ips.length, 4);
  assert.deepEqual(ips.slice(0, 2).sort(), ['203.0.113.20', '203.0.113.21']);
  s.view.set('us', { state: 'down', health: 0 });
  assert.equal((await udpQuery(s.port, a('all.gtm.test'))).answers.length, 3);
  const many = await udpQuery(s.port, buildQuery('many.gtm.test'));
  assert.ok(!many.tc);
  assert.ok(many.answers.length > 20 && many.answers.length < 40, `${many.answers.length} answers`);
  assert.equal(new Set(many.answers.map((x) => x.data)).size, many.answers.length);
  const manyTcp = await tcpQuery(s.port, buildQuery('many.gtm.test'));
  assert.equal(manyTcp.answers.length, 40);
});

test('a CNAME to a GTM name carries the chain and the computed address', async () => {
  const s = await start();
  const r = await udpQuery(s.port, a('WWW.gtm.test', '198.51.100.0/24'));
  assert.deepEqual(r.answers.map((x) => [x.type, x.data]), [[RRType.CNAME, 'api.gtm.test.'], [RRType.A, '198.51.100.10']]);
  assert.equal(r.questions[0]!.name, 'WWW.gtm.test.');
  const any = await udpQuery(s.port, buildQuery('api.gtm.test', { type: RRType.ANY }));
  assert.equal(any.answers.length, 1);
  assert.equal(any.answers[0]!.type, RRType.A);
});

test('metrics: queries by zone, rcode and transport; GTM answers by region', async () => {
  const s = await start();
  const labels = { zone: 'gtm.test', rcode: 'NXDOMAIN', transport: 'udp' };
  const before = await metric('edgeplane_dns_queries_total', labels);
  const refusedBefore = await metric('edgeplane_dns_queries_total', { zone: '(none)', rcode: 'REFUSED', transport: 'tcp' });
  const pickedBefore = await metric('edgeplane_dns_gtm_answers_total', { name: 'api.gtm.test', region: 'sg' });
  for (let i = 0; i < 3; i++) await udpQuery(s.port, a('missing.gtm.test'));
  await tcpQuery(s.port, a('elsewhere.example'));
  for (let i = 0; i < 4; i++) await udpQuery(s.port, a('api.gtm.test', '198.51.100.0/24'));
  assert.equal(await metric('edgeplane_dns_queries_total', labels), before + 3);
  assert.equal(await metric('edgeplane_dns_queries_total', { zone: '(none)', rcode: 'REFUSED', transport: 'tcp' }), refusedBefore + 1);
  assert.equal(await metric('edgeplane_dns_gtm_answers_total', { name: 'api.gtm.test', region: 'sg' }), pickedBefore + 4);
  const text = await registry.metrics();
  assert.match(text, /edgeplane_dns_answer_duration_seconds_bucket\{le="[0-9.e-]+",transport="udp"\}/);
});

test('update() swaps zones atomically; a bad config throws and the old one keeps serving', async () => {
  const s = await start();
  const next = gtmConfig();
  next.zones[0]!.gtm!.push({ name: 'new', regions: [{ region: 'jp', vips: ['203.0.113.99'], weight: 1 }] });
  next.zones[0]!.records!.push({ name: 'fresh', type: 'TXT', value: 'v2' });
  s.server.update(next);
  assert.deepEqual((await udpQuery(s.port, a('new.gtm.test'))).answers.map((x) => x.data), ['203.0.113.99']);
  assert.equal((await udpQuery(s.port, buildQuery('fresh.gtm.test', { type: RRType.TXT }))).answers.length, 1);
  const bad = gtmConfig();
  bad.zones[0]!.records!.push({ name: 'www', type: 'A', value: '192.0.2.1' });
  assert.throws(() => s.server.update(bad), (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.path === 'dns.zones[0].records[1]'));
  assert.deepEqual((await udpQuery(s.port, a('new.gtm.test'))).answers.map((x) => x.data), ['203.0.113.99'], 'still the previous config');
});

test('a child zone served here answers for its names; the parent refers to it', async () => {
  const cfg = gtmConfig();
  cfg.zones[0]!.records!.push({ name: 'eu', type: 'NS', value: 'ns1.gtm.test' });
  cfg.zones.push({
    origin: 'eu.gtm.test',
    soa: { mname: 'ns1.gtm.test', rname: 'hostmaster.gtm.test', refresh: 1, retry: 1, expire: 1, minimum: 5 },
    nameservers: ['ns1.gtm.test'],
    records: [{ name: 'www', type: 'A', value: '192.0.2.77' }],
  });
  const s = await start(cfg);
  const r = await udpQuery(s.port, a('www.eu.gtm.test'));
  assert.ok(r.aa);
  assert.deepEqual(r.answers.map((x) => x.data), ['192.0.2.77']);
  const nx = await udpQuery(s.port, a('nope.eu.gtm.test'));
  assert.equal(nx.rcode, Rcode.NXDOMAIN);
  assert.equal(nx.authority[0]!.name, 'eu.gtm.test.');
  assert.equal(nx.authority[0]!.ttl, 5);
});
