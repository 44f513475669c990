/** Numbers from the IANA DNS parameters registry that edgeplane uses. */

export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  CDS: 59,
  CDNSKEY: 60,
  /** RFC 9824: in a compact-denial NSEC bitmap, "this name does not exist". */
  NXNAME: 128,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
  CAA: 257,
} as const;

/** Types a zone in the config may hold; SOA and apex NS come from their own keys. */
export const STATIC_TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'CAA', 'NS', 'PTR'] as const;
export type StaticTypeName = (typeof STATIC_TYPES)[number];

export const RRClass = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

export const Opcode = { QUERY: 0 } as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  NOTAUTH: 9,
  /** Extended (12-bit) rcode: the upper 8 bits travel in the OPT record. */
  BADVERS: 16,
} as const;

export const RCODE_NAMES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  9: 'NOTAUTH',
  16: 'BADVERS',
};

export const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RRType).map(([k, v]) => [v, k]));

/** Header flag bits, split by the byte they live in (offset 2 and 3). */
export const Flags2 = { QR: 0x80, OPCODE_MASK: 0x78, AA: 0x04, TC: 0x02, RD: 0x01 } as const;
export const Flags3 = { RA: 0x80, Z: 0x40, AD: 0x20, CD: 0x10, RCODE_MASK: 0x0f } as const;

export const EdnsOption = { NSID: 3, ECS: 8, COOKIE: 10, EDE: 15 } as const;
export const ECS_FAMILY_IPV4 = 1;
export const ECS_FAMILY_IPV6 = 2;

export const HEADER_SIZE = 12;
export const MAX_NAME_WIRE = 255;
export const MAX_LABEL = 63;
/** Without EDNS a UDP reply must fit in 512 bytes (RFC 1035 4.2.1). */
export const CLASSIC_UDP_SIZE = 512;
/** DNS Flag Day 2020 default: avoids IP fragmentation on any sane path. */
export const DEFAULT_EDNS_SIZE = 1232;
