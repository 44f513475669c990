import { Dns, DnsTcp, DnsIdentity, Rrl, Zone, Soa, GtmName, Dnssec, DnssecKey } from '../config/schema/dns.ts';
import { defaultsOf } from '../config/schema/defaults.ts';

/**
 * The defaults of the `dns` section, read from the schema fields that declare
 * them (src/config/schema/dns.ts). The resolvers of this module (rrlSettings,
 * cookieSettings, identityFrom, the server's TCP settings, the zone compiler,
 * the DNSSEC key loader) apply them; nothing else in src/dns writes one.
 */
export const DNS_DEFAULTS = defaultsOf(Dns, ['udpPayloadSize']);
export const TCP_DEFAULTS = defaultsOf(DnsTcp, ['idleTimeout', 'messageTimeout', 'maxConnectionDuration', 'maxConnections', 'maxConnectionsPerClient']);
export const IDENTITY_DEFAULTS = defaultsOf(DnsIdentity, ['nsid', 'version']);
export const COOKIE_DEFAULTS = defaultsOf(Dns.properties.cookies, ['enabled']);
export const RRL_DEFAULTS = defaultsOf(Rrl, [
  'enabled', 'responsesPerSecond', 'nxdomainsPerSecond', 'errorsPerSecond', 'largeResponsesPerSecond',
  'largeResponseSize', 'slip', 'ipv4PrefixLength', 'ipv6PrefixLength',
]);
export const ZONE_DEFAULTS = defaultsOf(Zone, ['ttl']);
export const SOA_DEFAULTS = defaultsOf(Soa, ['serial']);
export const GTM_DEFAULTS = defaultsOf(GtmName, ['ttl', 'answers']);
export const DNSSEC_DEFAULTS = defaultsOf(Dnssec, ['algorithm', 'signatureValidity', 'refresh', 'cds']);
export const DNSSEC_KEY_DEFAULTS = defaultsOf(DnssecKey, ['role', 'state']);
