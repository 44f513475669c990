import { EdgeplaneError } from '../util/errors.ts';

/**
 * Errors the DNS module raises on purpose. Codes:
 * - EP_DNS_NAME: a name in the config is not a valid domain name
 * - EP_DNS_RDATA: a record value does not parse for its type
 * - EP_DNS_ZONE: zone contents contradict each other (CNAME beside data, data below a cut...)
 * - EP_DNS_GEO: the geo section (CIDR, MMDB file) cannot be used
 * - EP_DNS_DNSSEC: a DNSSEC key or setting cannot be used
 * - EP_DNS_BIND: a listen address could not be bound
 * - EP_DNS_STATE: the server was used in the wrong state (start twice, update after close)
 * - EP_DNS_DECODE: a message does not decode (the full decoder used by tests and tools)
 * - EP_DNS_INTERNAL: an invariant of the answer encoder broke (a bug, never input)
 */
export class DnsError extends EdgeplaneError {}

/** A zone problem with the config path it came from, so cross-check can report it. */
export class DnsConfigIssue extends DnsError {
  readonly path: (string | number)[];
  constructor(code: string, path: (string | number)[], message: string) {
    super(code, message);
    this.path = path;
  }
}
