import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadConfigFile } from '../config/load.ts';
import { ConfigError, formatIssues } from '../util/errors.ts';
import { DnssecAlgorithm, dnskeyText, dsText, generateKeyPem, loadZoneKey, type DnssecAlgorithmName, type KeyRole } from '../dns/dnssec/keys.ts';
import { nameFromText, nameToText } from '../dns/wire/name.ts';
import { DnsError } from '../dns/errors.ts';
import { DNSSEC_KEY_DEFAULTS } from '../dns/options.ts';

export const USAGE = [
  'usage: edgeplane dnssec keygen [--algorithm ecdsap256sha256|ed25519] [--role csk|ksk|zsk] [--zone ZONE] --out FILE',
  '       edgeplane dnssec ds ZONE --config FILE     DS records (SHA-256) of the zone\'s active csk/ksk keys, for the registrar',
  '       edgeplane dnssec ds ZONE --key FILE...      the same from key files',
].join('\n');

/**
 * `edgeplane dnssec`: key files and the DS for the parent. Keys are PKCS#8
 * PEM private keys (openssl reads them); the public DNSKEY, the key tag and
 * the DS are derived from them, so the file is the only thing to keep secret
 * and to copy to every nameserver of the zone.
 */
export async function dnssecCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === 'keygen') return keygen(rest);
    if (sub === 'ds') return ds(rest);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(formatIssues(err.issues));
      return 1;
    }
    if (err instanceof DnsError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`edgeplane dnssec: ${(err as Error).message}`);
      return 1;
    }
    throw err;
  }
  console.error(USAGE);
  return 2;
}

function keygen(args: string[]): number {
  const { values } = parseArgs({ args, options: { algorithm: { type: 'string', default: 'ecdsap256sha256' }, role: { type: 'string', default: 'csk' }, zone: { type: 'string' }, out: { type: 'string', short: 'o' }, force: { type: 'boolean' } } });
  const algorithm = values.algorithm as DnssecAlgorithmName;
  if (!(algorithm in DnssecAlgorithm)) {
    console.error(`edgeplane dnssec keygen: --algorithm must be ecdsap256sha256 or ed25519\n${USAGE}`);
    return 2;
  }
  const role = values.role as KeyRole;
  if (!['csk', 'ksk', 'zsk'].includes(role) || !values.out) {
    console.error(USAGE);
    return 2;
  }
  const out = resolve(values.out);
  if (existsSync(out) && !values.force) {
    console.error(`edgeplane dnssec keygen: ${out} exists (a key file is never overwritten without --force)`);
    return 1;
  }
  const pem = generateKeyPem(algorithm);
  writeFileSync(out, pem, { mode: 0o600 });
  const key = loadZoneKey(pem, role);
  console.log(`wrote ${out}: ${role} ${algorithm}, key tag ${key.tag}`);
  if (values.zone) {
    const owner = nameFromText(values.zone);
    console.log(`${nameToText(owner)}. IN DNSKEY ${dnskeyText(key)}`);
    if (role !== 'zsk') console.log(`${nameToText(owner)}. IN DS ${dsText(owner, key)}`);
  }
  return 0;
}

function ds(args: string[]): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { config: { type: 'string', short: 'c' }, key: { type: 'string', multiple: true } } });
  if (positionals.length !== 1 || (!values.config && !values.key?.length)) {
    console.error(USAGE);
    return 2;
  }
  const owner = nameFromText(positionals[0]!);
  const files: { file: string; role: KeyRole; active: boolean }[] = [];
  if (values.config) {
    const configPath = resolve(values.config);
    const config = loadConfigFile(configPath);
    const zone = config.dns?.zones.find((z) => nameFromText(z.origin).equals(owner));
    if (!zone) {
      console.error(`edgeplane dnssec ds: ${configPath} serves no zone ${nameToText(owner)}`);
      return 1;
    }
    if (!zone.dnssec) {
      console.error(`edgeplane dnssec ds: zone ${nameToText(owner)} has no dnssec section`);
      return 1;
    }
    for (const k of zone.dnssec.keys) files.push({ file: resolve(dirname(configPath), k.file), role: k.role ?? DNSSEC_KEY_DEFAULTS.role, active: (k.state ?? DNSSEC_KEY_DEFAULTS.state) === 'active' });
  }
  for (const f of values.key ?? []) files.push({ file: resolve(f), role: 'csk', active: true });
  let printed = 0;
  for (const f of files) {
    if (f.role === 'zsk' || !f.active) continue;
    const key = loadZoneKey(readFileSync(f.file, 'utf8'), f.role);
    console.log(`${nameToText(owner)}. IN DS ${dsText(owner, key)}`);
    printed++;
  }
  if (printed === 0) {
    console.error('edgeplane dnssec ds: no active csk or ksk key');
    return 1;
  }
  return 0;
}
