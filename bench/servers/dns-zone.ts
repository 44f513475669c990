import type { DnsConfig } from '../../src/config/schema/index.ts';

/**
 * The zone every DNS benchmark subject serves. edgeplane answers `api` as a
 * GTM name (two regions, geo table, weighted pick for the load generator's
 * address, which no geo entry covers); knotd and dns2 answer it with one
 * static A record of the same size and TTL.
 */
export const BENCH_NAME = 'api.svc.plus';
export const BENCH_ADDRESS = '203.0.113.10';

export function benchDnsConfig(listen: string): DnsConfig {
  return {
    listen: [listen],
    zones: [
      {
        origin: 'svc.plus',
        soa: { mname: 'ns1.svc.plus', rname: 'hostmaster.svc.plus', refresh: 3600, retry: 600, expire: 86400, minimum: 30 },
        nameservers: ['ns1.svc.plus'],
        records: [{ name: 'ns1', type: 'A', value: '203.0.113.53' }],
        gtm: [
          {
            name: 'api',
            ttl: 30,
            regions: [
              { region: 'jp', vips: [BENCH_ADDRESS], weight: 120 },
              { region: 'sg', vips: ['198.51.100.10'], weight: 80 },
            ],
          },
        ],
      },
    ],
    geo: { networks: [{ cidr: '203.0.113.0/24', region: 'jp' }, { cidr: '198.51.100.0/24', region: 'sg' }] },
  };
}

/** The same zone as a zone file for knotd. */
export function benchZoneFile(): string {
  return [
    '$ORIGIN svc.plus.',
    '$TTL 3600',
    '@ IN SOA ns1.svc.plus. hostmaster.svc.plus. 1 3600 600 86400 30',
    '@ IN NS ns1.svc.plus.',
    'ns1 IN A 203.0.113.53',
    `api 30 IN A ${BENCH_ADDRESS}`,
    '',
  ].join('\n');
}
