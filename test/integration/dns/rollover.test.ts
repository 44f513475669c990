/**
 * A CSK rollover driven by config edits alone (docs/dns.md "Key rollover"):
 * a real gateway (`edgeplane run`) reloads its file on SIGHUP through
 * pre-publish (new key `state: published`), switch (new `active`, old
 * `published`) and remove (old key gone). At each phase the DNSKEY, CDS and
 * RRSIG contents are checked on the wire, and validating unbounds show why
 * the steps are in that order: a resolver that cached the DNSKEY set during
 * pre-publish keeps validating across the switch, a fresh one validates with
 * the parent's double DS, and one with only the old DS fails once the old key
 * stops signing (step 2 of the docs is not optional).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { tempDir } from '../../helpers/temp-dir.ts';
import { waitFor } from '../../helpers/wait.ts';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { decodeMessage, type DecodedMessage } from '../../../src/dns/wire/decode.ts';
import { Rcode, RRType } from '../../../src/dns/wire/constants.ts';
import { dsText, generateKeyPem, keyTag, loadZoneKey } from '../../../src/dns/dnssec/keys.ts';
import { nameFromText } from '../../../src/dns/wire/name.ts';
import { udpExchange } from './helpers.ts';
import { startUnbound, which, type Unbound } from './unbound.ts';

const gateways: GatewayProcess[] = [];
const resolvers: Unbound[] = [];
after(async () => {
  for (const u of resolvers) await u.stop();
  await Promise.all(gateways.map((g) => g.stop('SIGKILL')));
});

type KeyEntry = { file: string; state?: 'active' | 'published' };

function config(keys: KeyEntry[]) {
  return {
    node: { id: 'ns1', region: 'jp' },
    listeners: [],
    clusters: [],
    routes: [],
    admin: { address: '127.0.0.1:0', stateDir: './state', token: 'rollover-token' },
    dns: {
      listen: ['127.0.0.1:0'],
      rrl: { enabled: false },
      zones: [{
        origin: 'svc.plus',
        soa: { mname: 'ns1.svc.plus', rname: 'hostmaster.svc.plus', refresh: 3600, retry: 600, expire: 86400, minimum: 30 },
        nameservers: ['ns1.svc.plus'],
        records: [
          { name: 'ns1', type: 'A', value: '203.0.113.53' },
          // one name per phase, so a resolver's cached answer of an earlier phase never stands in for this one's
          { name: 'phase1', type: 'A', value: '192.0.2.1' },
          { name: 'phase2', type: 'A', value: '192.0.2.2' },
          { name: 'phase3', type: 'A', value: '192.0.2.3' },
        ],
        gtm: [{ name: 'api', regions: [{ region: 'jp', vips: ['203.0.113.10'], weight: 1 }] }],
        dnssec: { keys },
      }],
    },
  };
}

const dnsPort = (g: GatewayProcess) => (g.ready.dns as { udp: { port: number }[] }).udp[0]!.port;

async function query(port: number, name: string, type: number): Promise<DecodedMessage> {
  const reply = await udpExchange(port, buildQuery(name, { type, rd: true, edns: { dnssecOk: true } }), '127.0.0.1', 5000);
  assert.ok(reply, `${name}/${type}: no reply`);
  return decodeMessage(reply);
}

/** What the server publishes and signs with, as key tags. */
async function keyState(port: number): Promise<{ dnskey: number[]; dnskeySigners: number[]; cds: number[]; signers: Record<string, number[]> }> {
  const tagsOf = (r: DecodedMessage, type: number) => r.answers.filter((a) => a.type === type).map((a) => (type === RRType.DNSKEY ? keyTag(a.raw) : a.raw.readUInt16BE(0))).sort((a, b) => a - b);
  const signersOf = (r: DecodedMessage) => r.answers.filter((a) => a.type === RRType.RRSIG).map((a) => a.raw.readUInt16BE(16)).sort((a, b) => a - b);
  const dnskey = await query(port, 'svc.plus', RRType.DNSKEY);
  const cds = await query(port, 'svc.plus', RRType.CDS);
  const signers: Record<string, number[]> = {};
  for (const name of ['api.svc.plus', 'phase1.svc.plus', 'ns1.svc.plus']) signers[name] = signersOf(await query(port, name, RRType.A));
  const nx = await query(port, 'missing.svc.plus', RRType.A);
  signers['missing.svc.plus (NSEC, SOA)'] = nx.authority.filter((a) => a.type === RRType.RRSIG).map((a) => a.raw.readUInt16BE(16)).sort((a, b) => a - b);
  return { dnskey: tagsOf(dnskey, RRType.DNSKEY), dnskeySigners: signersOf(dnskey), cds: tagsOf(cds, RRType.CDS), signers };
}

/** Reloads the gateway with `keys` (SIGHUP) and waits until it publishes the DNSKEY set `expect`. */
async function step(g: GatewayProcess, keys: KeyEntry[], expect: { dnskey: number[]; signer: number }): Promise<void> {
  g.writeConfig(config(keys));
  g.proc.kill('SIGHUP');
  await waitFor(async () => {
    const s = await keyState(dnsPort(g));
    return JSON.stringify(s.dnskey) === JSON.stringify(expect.dnskey) && s.dnskeySigners.join() === String(expect.signer);
  }, { timeoutMs: 20_000, what: `DNSKEY set ${expect.dnskey.join(',')} signed by ${expect.signer}` });
}

async function resolver(port: number, ds: string[]): Promise<Unbound> {
  const u = await startUnbound('svc.plus', port, ds);
  resolvers.push(u);
  return u;
}

async function validated(u: Unbound, name: string, type: number = RRType.A): Promise<void> {
  const r = await query(u.port, name, type);
  assert.equal(r.rcode, Rcode.NOERROR, `${name}: rcode ${r.rcode}\n${u.log()}`);
  assert.equal(r.ad, true, `${name}: AD\n${u.log()}`);
}

test('CSK rollover by config: pre-publish, switch, remove; DNSKEY, CDS and RRSIGs at each phase; validation across the switch', async (t) => {
  const dir = tempDir('edgeplane-rollover-');
  mkdirSync(join(dir, 'keys'));
  const oldPem = generateKeyPem('ecdsap256sha256');
  const newPem = generateKeyPem('ecdsap256sha256');
  writeFileSync(join(dir, 'keys', 'old.pem'), oldPem, { mode: 0o600 });
  writeFileSync(join(dir, 'keys', 'new.pem'), newPem, { mode: 0o600 });
  const origin = nameFromText('svc.plus');
  const oldKey = loadZoneKey(oldPem, 'csk');
  const newKey = loadZoneKey(newPem, 'csk');
  const [OLD, NEW] = [oldKey.tag, newKey.tag];
  const [dsOld, dsNew] = [dsText(origin, oldKey), dsText(origin, newKey)];
  const both = [OLD, NEW].sort((a, b) => a - b);
  const hasUnbound = which('unbound') !== null;

  const g = await startGateway(config([{ file: 'keys/old.pem' }]), { dir });
  gateways.push(g);
  const port = dnsPort(g);
  const start = await keyState(port);
  assert.deepEqual(start.dnskey, [OLD]);

  // 1. Pre-publish: the new key is in the DNSKEY set but signs nothing; CDS still names the old key only.
  await step(g, [{ file: 'keys/old.pem' }, { file: 'keys/new.pem', state: 'published' }], { dnskey: both, signer: OLD });
  const p1 = await keyState(port);
  assert.deepEqual(p1.cds, [OLD]);
  for (const [name, signers] of Object.entries(p1.signers)) assert.deepEqual(signers, name.startsWith('missing') ? [OLD, OLD] : [OLD], `phase 1: ${name} signed by the old key only`);
  // A resolver trusting the parent's (old) DS learns the two-key set now and caches it (TTL = dnskeyTtl).
  let cached: Unbound | undefined;
  if (hasUnbound) {
    cached = await resolver(port, [dsOld]);
    await validated(cached, 'svc.plus', RRType.DNSKEY);
    await validated(cached, 'phase1.svc.plus');
  }

  // 2. (The new DS goes to the parent: double DS.) 3. Switch: the new key signs; the old one stays published.
  await step(g, [{ file: 'keys/old.pem', state: 'published' }, { file: 'keys/new.pem' }], { dnskey: both, signer: NEW });
  const p2 = await keyState(port);
  assert.deepEqual(p2.cds, [NEW], 'CDS/CDNSKEY follow the active key');
  for (const [name, signers] of Object.entries(p2.signers)) assert.deepEqual(signers, name.startsWith('missing') ? [NEW, NEW] : [NEW], `phase 2: ${name} signed by the new key only`);
  if (cached) {
    // Across the switch: the cached DNSKEY set already holds the new key.
    await validated(cached, 'phase2.svc.plus');
    await validated(cached, 'api.svc.plus');
    const fresh = await resolver(port, [dsOld, dsNew]);
    await validated(fresh, 'phase2.svc.plus');
    await validated(fresh, 'svc.plus', RRType.DNSKEY);
    // Skipping the DS step breaks fresh resolvers: the old DS points at a key that no longer signs the DNSKEY set.
    const oldDsOnly = await resolver(port, [dsOld]);
    assert.equal((await query(oldDsOnly.port, 'phase2.svc.plus', RRType.A)).rcode, Rcode.SERVFAIL);
  }

  // 4. Remove: only the new key is left.
  await step(g, [{ file: 'keys/new.pem' }], { dnskey: [NEW], signer: NEW });
  const p3 = await keyState(port);
  assert.deepEqual(p3.cds, [NEW]);
  for (const [name, signers] of Object.entries(p3.signers)) assert.deepEqual(signers, name.startsWith('missing') ? [NEW, NEW] : [NEW], `phase 3: ${name}`);
  if (hasUnbound) {
    const after = await resolver(port, [dsNew]);
    await validated(after, 'phase3.svc.plus');
    await validated(cached!, 'phase3.svc.plus');
  } else t.skip('unbound is not installed: the wire checks ran, the validation steps did not');
});
