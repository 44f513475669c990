import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { DnsError } from '../errors.ts';
import type { WireName } from '../wire/name.ts';

/** DNSSEC algorithm numbers (IANA) edgeplane signs with. */
export const DnssecAlgorithm = { ecdsap256sha256: 13, ed25519: 15 } as const;
export type DnssecAlgorithmName = keyof typeof DnssecAlgorithm;

export type KeyRole = 'csk' | 'ksk' | 'zsk';
/** `active` keys are published and sign; `published` keys are only in the DNSKEY RRset (pre-publish, or kept while caches forget them). */
export type KeyState = 'active' | 'published';

/** DNSKEY flags: ZONE (256), plus SEP (1) for keys the parent's DS points at. */
const FLAG_ZONE = 256;
const FLAG_SEP = 1;

export interface ZoneKey {
  algorithm: number;
  role: KeyRole;
  state: KeyState;
  flags: number;
  /** DNSKEY RDATA (RFC 4034 2.1). */
  dnskey: Buffer;
  /** RFC 4034 Appendix B. */
  tag: number;
  privateKey: KeyObject;
}

/** A fresh private key in PKCS#8 PEM, the format key files use. */
export function generateKeyPem(algorithm: DnssecAlgorithmName): string {
  const { privateKey } = algorithm === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
}

/** The algorithm a private key signs with, from its own type (so a file cannot claim another). */
export function algorithmOf(key: KeyObject): number {
  if (key.asymmetricKeyType === 'ed25519') return DnssecAlgorithm.ed25519;
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return DnssecAlgorithm.ecdsap256sha256;
  throw new DnsError('EP_DNS_DNSSEC', `unsupported key type ${key.asymmetricKeyType}${key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''}: use ECDSA P-256 or Ed25519 (edgeplane dnssec keygen)`);
}

function publicKeyBytes(key: KeyObject): Buffer {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  // RFC 6605 4: ECDSA public keys are X | Y; RFC 8080 3: Ed25519 is the 32-byte key
  if (key.asymmetricKeyType === 'ed25519') return Buffer.from(jwk.x!, 'base64url');
  return Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
}

export function keyTag(dnskey: Buffer): number {
  let ac = 0;
  for (let i = 0; i < dnskey.length; i++) ac += i & 1 ? dnskey[i]! : dnskey[i]! << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

export function loadZoneKey(pem: string, role: KeyRole, state: KeyState = 'active'): ZoneKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new DnsError('EP_DNS_DNSSEC', `not a PEM private key: ${(err as Error).message}`);
  }
  const algorithm = algorithmOf(privateKey);
  const flags = FLAG_ZONE | (role === 'zsk' ? 0 : FLAG_SEP);
  const pub = publicKeyBytes(privateKey);
  const dnskey = Buffer.alloc(4 + pub.length);
  dnskey.writeUInt16BE(flags, 0);
  dnskey[2] = 3; // protocol, RFC 4034 2.1.2
  dnskey[3] = algorithm;
  pub.copy(dnskey, 4);
  return { algorithm, role, state, flags, dnskey, tag: keyTag(dnskey), privateKey };
}

/** Signature bytes as DNSSEC wants them: ECDSA as r | s (RFC 6605 4), Ed25519 as is. */
export function signData(key: ZoneKey, data: Buffer): Buffer {
  if (key.algorithm === DnssecAlgorithm.ed25519) return sign(null, data, key.privateKey);
  return sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
}

/** DS RDATA with a SHA-256 digest (RFC 4509) for `owner` (lowercase wire name). */
export function dsRdata(owner: WireName, key: ZoneKey): Buffer {
  const digest = createHash('sha256').update(owner).update(key.dnskey).digest();
  const out = Buffer.alloc(4 + digest.length);
  out.writeUInt16BE(key.tag, 0);
  out[2] = key.algorithm;
  out[3] = 2;
  digest.copy(out, 4);
  return out;
}

/** CDS/DS in presentation form: `tag alg 2 HEX`. */
export function dsText(owner: WireName, key: ZoneKey): string {
  const ds = dsRdata(owner, key);
  return `${key.tag} ${key.algorithm} 2 ${ds.subarray(4).toString('hex').toUpperCase()}`;
}

export function dnskeyText(key: ZoneKey): string {
  return `${key.flags} 3 ${key.algorithm} ${key.dnskey.subarray(4).toString('base64')}`;
}
