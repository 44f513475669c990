import { Type } from '@sinclair/typebox';
import { Obj, Name, Address, Duration } from './common.ts';

const Ttl = (description: string, dflt?: number) => Type.Integer({ minimum: 0, maximum: 2147483647, description, ...(dflt !== undefined ? { default: dflt } : {}) });

export const Soa = Obj({
  mname: Type.String({ description: 'primary nameserver name (absolute)' }),
  rname: Type.String({ description: 'responsible mailbox as a name (hostmaster.example.com) or an address (hostmaster@example.com)' }),
  serial: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295, default: 1, description: 'set it if secondaries transfer the zone' })),
  refresh: Type.Integer({ minimum: 0 }),
  retry: Type.Integer({ minimum: 0 }),
  expire: Type.Integer({ minimum: 0 }),
  minimum: Type.Integer({ minimum: 0, description: 'negative-caching TTL cap (RFC 2308)' }),
  ttl: Type.Optional(Ttl('TTL of the SOA record itself; default the zone ttl. Negative answers use min(ttl, minimum)')),
});

export const StaticRecord = Obj({
  name: Type.String({ description: 'relative to the origin; @ for the apex; a trailing dot makes it absolute' }),
  type: Type.String({ pattern: '^[A-Z]+$', description: 'A, AAAA, CNAME, TXT, MX, SRV, CAA, NS (delegation), PTR' }),
  value: Type.String({ description: 'zone-file syntax for the type; names in values are absolute' }),
  ttl: Type.Optional(Ttl('default: the zone ttl')),
});

export const GtmRegion = Obj({
  region: Name(),
  vips: Type.Array(Type.String(), { minItems: 1, description: 'IPv4 addresses answer A queries, IPv6 addresses AAAA' }),
  weight: Type.Integer({ minimum: 0 }),
  fallback: Type.Optional(Type.Array(Name(), { description: 'regions to prefer, in order, for clients of this region while it is down' })),
});

export const GtmName = Obj({
  name: Type.String({ description: 'relative to the origin, like record names' }),
  ttl: Type.Optional(Ttl('TTL of GTM answers (short: clients follow region changes)', 30)),
  answers: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 64 }), Type.Literal('all')], {
    default: 1,
    description: 'addresses per answer: N, or all up VIPs ordered by a weighted shuffle',
  })),
  regions: Type.Array(GtmRegion, { minItems: 1 }),
});

export const DnssecKey = Obj({
  file: Type.String({ minLength: 1, description: 'PKCS#8 PEM private key from `edgeplane dnssec keygen`, relative to the config file' }),
  role: Type.Optional(Type.Union([Type.Literal('csk'), Type.Literal('ksk'), Type.Literal('zsk')], { default: 'csk', description: 'csk signs everything; ksk signs the DNSKEY, CDS and CDNSKEY sets; zsk the rest' })),
  state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('published')], { default: 'active', description: 'active: published and signing; published: only in the DNSKEY set (rollover)' })),
});

export const Dnssec = Obj({
  keys: Type.Array(DnssecKey, { minItems: 1 }),
  algorithm: Type.Optional(Type.Union([Type.Literal('ecdsap256sha256'), Type.Literal('ed25519')], { default: 'ecdsap256sha256', description: 'every key must be of this algorithm' })),
  signatureValidity: Type.Optional(Duration('RRSIG lifetime from signing (inception is an hour before)', '14d')),
  refresh: Type.Optional(Duration('re-sign everything this often; must be shorter than signatureValidity', '7d')),
  dnskeyTtl: Type.Optional(Ttl('TTL of DNSKEY, CDS and CDNSKEY; default the zone ttl')),
  cds: Type.Optional(Type.Boolean({ default: true, description: 'publish CDS and CDNSKEY for the active SEP keys (RFC 7344/8078)' })),
});

export const Zone = Obj({
  origin: Type.String(),
  ttl: Type.Optional(Ttl('default TTL of static records', 3600)),
  soa: Soa,
  nameservers: Type.Array(Type.String(), { minItems: 1 }),
  records: Type.Optional(Type.Array(StaticRecord)),
  gtm: Type.Optional(Type.Array(GtmName)),
  dnssec: Type.Optional(Dnssec),
});

export const Rrl = Obj({
  enabled: Type.Optional(Type.Boolean({ default: true, description: 'response rate limiting' })),
  responsesPerSecond: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'positive answers per client prefix and second; 0 = unlimited' })),
  nxdomainsPerSecond: Type.Optional(Type.Integer({ minimum: 0, default: 20, description: 'NXDOMAIN answers per client prefix and second; 0 = unlimited' })),
  errorsPerSecond: Type.Optional(Type.Integer({ minimum: 0, default: 20, description: 'REFUSED/FORMERR/NOTIMP/BADVERS per client prefix and second; 0 = unlimited' })),
  largeResponsesPerSecond: Type.Optional(Type.Integer({ minimum: 0, default: 20, description: 'answers bigger than largeResponseSize per client prefix and second; 0 = unlimited' })),
  largeResponseSize: Type.Optional(Type.Integer({ minimum: 64, maximum: 65535, default: 512, description: 'bytes' })),
  slip: Type.Optional(Type.Integer({ minimum: 0, maximum: 10, description: 'every Nth limited answer is sent as an empty TC=1 reply (client retries over TCP), the others are dropped; 0 = drop all', default: 2 })),
  ipv4PrefixLength: Type.Optional(Type.Integer({ minimum: 8, maximum: 32, default: 24, description: 'IPv4 clients are counted per prefix of this length' })),
  ipv6PrefixLength: Type.Optional(Type.Integer({ minimum: 16, maximum: 128, default: 56, description: 'IPv6 clients are counted per prefix of this length' })),
  exempt: Type.Optional(Type.Array(Type.String(), { description: 'CIDRs never limited (monitoring, own resolvers)' })),
});

export const DnsTcp = Obj({
  idleTimeout: Type.Optional(Duration('close a TCP connection that sent no complete query this long (partial bytes do not count)', '10s')),
  messageTimeout: Type.Optional(Duration('a query must arrive whole, and its answer be read, within this after its first byte', '2s')),
  maxConnectionDuration: Type.Optional(Duration('close a TCP connection this long after it was accepted, whatever it sends', '60s')),
  maxConnections: Type.Optional(Type.Integer({ minimum: 1, default: 1024, description: 'per listen address (and worker)' })),
  maxConnectionsPerClient: Type.Optional(Type.Integer({ minimum: 1, default: 16, description: 'per client address (IPv6: per /64), listen address and worker' })),
});

export const DnsIdentity = Obj({
  serverId: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Boolean()], { description: 'answers NSID and CH TXT id.server / hostname.bind: a string, true (default: the host name) or false (off)' })),
  nsid: Type.Optional(Type.Boolean({ default: true, description: 'send serverId as NSID (RFC 5001) when a query asks' })),
  version: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Boolean()], { default: false, description: 'CH TXT version.bind / version.server: a string, true ("edgeplane VERSION") or false (off, REFUSED)' })),
});

export const Dns = Obj({
  listen: Type.Array(Address(), { minItems: 1 }),
  zones: Type.Array(Zone),
  geo: Type.Optional(Obj({
    networks: Type.Optional(Type.Array(Obj({ cidr: Type.String(), region: Name() }))),
    mmdb: Type.Optional(Obj({
      path: Type.String({ minLength: 1, description: 'MaxMind DB with country data (GeoLite2-Country, GeoIP2-Country/City), relative to the config file' }),
      countries: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Z]{2}$' }), Name(), { additionalProperties: false, description: 'ISO 3166 country code -> region' })),
      continents: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Z]{2}$' }), Name(), { additionalProperties: false, description: 'continent code (AF AN AS EU NA OC SA) -> region, used when the country has no entry' })),
    })),
  })),
  udpPayloadSize: Type.Optional(Type.Integer({ minimum: 512, maximum: 4096, default: 1232, description: 'EDNS UDP payload size advertised and never exceeded' })),
  tcp: Type.Optional(DnsTcp),
  rrl: Type.Optional(Rrl),
  cookies: Type.Optional(Obj({
    enabled: Type.Optional(Type.Boolean({ default: true, description: 'DNS cookies (RFC 7873, RFC 9018 server cookies)' })),
    secret: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{32}$', description: '16-byte secret as hex; give every nameserver of a zone the same one; default a random one per process' })),
    previousSecret: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{32}$', description: 'still accepted during a secret rotation' })),
  })),
  identity: Type.Optional(DnsIdentity),
});
