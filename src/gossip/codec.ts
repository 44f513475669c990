import type { RegionSelfHealth } from '../health/region-health.ts';
import { GossipDecodeError } from './errors.ts';

/**
 * The gossip wire format: small fixed binary layouts (memberlist uses msgpack;
 * a hand-written codec keeps datagrams small and every length checked). Every
 * decode is bounds-checked and throws GossipDecodeError, never anything else,
 * for any input.
 */
export const MsgType = {
  Ping: 0,
  IndirectPing: 1,
  Ack: 2,
  Nack: 3,
  Suspect: 4,
  Alive: 5,
  Dead: 6,
  Health: 7,
  Compound: 8,
  PushPull: 9,
} as const;

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';
const STATE_CODES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];

export interface PingMsg { type: 'ping'; seq: number; /** the member the sender means to reach */ node: string }
export interface IndirectPingMsg { type: 'indirect-ping'; seq: number; node: string; addr: string; /** the requester wants a nack if the target stays silent (Lifeguard) */ nack: boolean }
export interface AckMsg { type: 'ack'; seq: number }
export interface NackMsg { type: 'nack'; seq: number }
export interface SuspectMsg { type: 'suspect'; incarnation: number; node: string; from: string }
export interface AliveMsg { type: 'alive'; incarnation: number; node: string; addr: string; region: string }
export interface DeadMsg { type: 'dead'; incarnation: number; node: string; from: string }
export interface HealthMsg { type: 'health'; record: HealthRecord }

export type Message = PingMsg | IndirectPingMsg | AckMsg | NackMsg | SuspectMsg | AliveMsg | DeadMsg | HealthMsg;

/** What a member gossips about its region entry; `version` orders updates from one node. */
export interface HealthRecord {
  node: string;
  region: string;
  version: number;
  health: RegionSelfHealth;
}

export interface PushNodeState {
  name: string;
  addr: string;
  region: string;
  incarnation: number;
  state: MemberState;
}

export interface PushPullMsg {
  /** True when the sender is joining: the receiver answers but does not count it as anti-entropy. */
  join: boolean;
  nodes: PushNodeState[];
  health: HealthRecord[];
}

const HEALTH_STATES = ['up', 'degraded', 'down'] as const;
/**
 * Set in a health record's state byte when a DNSSEC key-set section follows
 * the names (zone -> fingerprint). A record without key sets keeps the old
 * layout byte for byte, so gateways without signed zones still gossip with
 * builds that predate the section.
 */
const HAS_KEYSETS = 0x80;
/** Zones per record (a gateway serves a handful; the bound keeps a record inside one datagram). */
export const MAX_KEYSETS = 32;
/** A key-set fingerprint as gossiped: `unsigned`, or sorted key tags and a SHA-256 prefix (`12345,60485/9f2c...`). */
export const KEYSET_FINGERPRINT = /^[0-9a-z,/-]{1,100}$/;
/** Framing cost of one part inside a compound message (its u16 length). */
export const COMPOUND_PART_OVERHEAD = 2;
/** Type byte + count byte of a compound message. */
export const COMPOUND_HEADER_OVERHEAD = 2;
/** A compound message carries at most this many parts (count is one byte). */
export const MAX_COMPOUND_PARTS = 255;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Scratch space shared by all encoders (single-threaded; encodes never nest). */
let scratch = new Uint8Array(2048);
let scratchView = new DataView(scratch.buffer);

class Writer {
  buf = scratch;
  view = scratchView;
  pos = 0;
  #room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
    // Keep moderately sized scratch buffers for next time; let huge ones go.
    if (size <= 1 << 20) {
      scratch = next;
      scratchView = this.view;
    }
  }
  u8(v: number): void {
    this.#room(1);
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.#room(2);
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
  }
  u32(v: number): void {
    this.#room(4);
    const b = this.buf;
    b[this.pos++] = (v >>> 24) & 0xff;
    b[this.pos++] = (v >>> 16) & 0xff;
    b[this.pos++] = (v >>> 8) & 0xff;
    b[this.pos++] = v & 0xff;
  }
  f32(v: number): void {
    this.#room(4);
    this.view.setFloat32(this.pos, v);
    this.pos += 4;
  }
  f64(v: number): void {
    this.#room(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }
  str8(s: string): void {
    // ASCII fast path (node names and addresses): no intermediate buffer.
    const n = s.length;
    if (n <= 255) {
      let ascii = true;
      for (let i = 0; i < n; i++) {
        if (s.charCodeAt(i) > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        this.#room(1 + n);
        const b = this.buf;
        b[this.pos++] = n;
        for (let i = 0; i < n; i++) b[this.pos++] = s.charCodeAt(i);
        return;
      }
    }
    const bytes = Buffer.from(s, 'utf8');
    if (bytes.length > 255) throw new GossipDecodeError(`string too long to encode (${bytes.length} bytes > 255)`);
    this.#room(1 + bytes.length);
    this.buf[this.pos++] = bytes.length;
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** A copy of what was written (the scratch buffer is reused by the next encode). */
  done(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

class Reader {
  readonly buf: Uint8Array;
  #view: DataView | undefined;
  pos: number;
  constructor(buf: Uint8Array, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }
  #need(n: number): void {
    if (this.pos + n > this.buf.length) throw new GossipDecodeError(`truncated message (need ${n} bytes at offset ${this.pos}, have ${this.buf.length - this.pos})`);
  }
  get #dv(): DataView {
    return (this.#view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }
  u8(): number {
    this.#need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.#need(2);
    const b = this.buf;
    const v = (b[this.pos]! << 8) | b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.#need(4);
    const b = this.buf;
    const p = this.pos;
    const v = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
    this.pos += 4;
    return v;
  }
  f32(): number {
    this.#need(4);
    const v = this.#dv.getFloat32(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.#need(8);
    const v = this.#dv.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }
  str8(): string {
    const len = this.u8();
    this.#need(len);
    const b = this.buf;
    const start = this.pos;
    this.pos += len;
    let ascii = true;
    for (let i = start; i < start + len; i++) {
      if (b[i]! > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, b.subarray(start, start + len) as unknown as number[]);
    try {
      return utf8.decode(b.subarray(start, start + len));
    } catch {
      throw new GossipDecodeError('invalid UTF-8 in string');
    }
  }
  name(): string {
    const s = this.str8();
    if (s.length === 0) throw new GossipDecodeError('empty member name');
    return s;
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new GossipDecodeError(`${this.buf.length - this.pos} trailing bytes`);
  }
}

export function encodeMessage(m: Message): Uint8Array {
  const w = new Writer();
  switch (m.type) {
    case 'ping':
      w.u8(MsgType.Ping);
      w.u32(m.seq);
      w.str8(m.node);
      break;
    case 'indirect-ping':
      w.u8(MsgType.IndirectPing);
      w.u32(m.seq);
      w.str8(m.node);
      w.str8(m.addr);
      w.u8(m.nack ? 1 : 0);
      break;
    case 'ack':
      w.u8(MsgType.Ack);
      w.u32(m.seq);
      break;
    case 'nack':
      w.u8(MsgType.Nack);
      w.u32(m.seq);
      break;
    case 'suspect':
    case 'dead':
      w.u8(m.type === 'suspect' ? MsgType.Suspect : MsgType.Dead);
      w.u32(m.incarnation);
      w.str8(m.node);
      w.str8(m.from);
      break;
    case 'alive':
      w.u8(MsgType.Alive);
      w.u32(m.incarnation);
      w.str8(m.node);
      w.str8(m.addr);
      w.str8(m.region);
      break;
    case 'health':
      w.u8(MsgType.Health);
      writeHealth(w, m.record);
      break;
  }
  return w.done();
}

function writeHealth(w: Writer, r: HealthRecord): void {
  w.str8(r.node);
  w.str8(r.region);
  w.f64(r.version);
  const h = r.health;
  const keysets = h.keysets ? Object.entries(h.keysets) : [];
  if (keysets.length > MAX_KEYSETS) throw new GossipDecodeError(`too many DNSSEC key sets in a health record (max ${MAX_KEYSETS})`);
  w.u8(HEALTH_STATES.indexOf(h.state) | (keysets.length > 0 ? HAS_KEYSETS : 0));
  w.f32(h.healthy);
  w.f64(h.at);
  const names = Object.entries(h.names);
  if (names.length > 255) throw new GossipDecodeError('too many names in a health record (max 255)');
  w.u8(names.length);
  for (const [name, v] of names) {
    w.str8(name);
    w.f32(v);
  }
  if (keysets.length === 0) return;
  w.u8(keysets.length);
  for (const [zone, fingerprint] of keysets) {
    w.str8(zone);
    w.str8(fingerprint);
  }
}

function fraction(v: number): number {
  if (!Number.isFinite(v) || v < 0 || v > 1) throw new GossipDecodeError(`health fraction out of range: ${v}`);
  return Math.round(v * 1e6) / 1e6;
}

function readHealth(r: Reader): HealthRecord {
  const node = r.name();
  const region = r.name();
  const version = r.f64();
  if (!Number.isFinite(version) || version < 0) throw new GossipDecodeError('invalid health version');
  const stateByte = r.u8();
  const stateCode = stateByte & ~HAS_KEYSETS;
  const state = HEALTH_STATES[stateCode];
  if (!state) throw new GossipDecodeError(`invalid health state ${stateCode}`);
  const healthy = fraction(r.f32());
  const at = r.f64();
  if (!Number.isFinite(at)) throw new GossipDecodeError('invalid health timestamp');
  const count = r.u8();
  const names: Record<string, number> = Object.create(null) as Record<string, number>;
  for (let i = 0; i < count; i++) {
    const name = r.name();
    names[name] = fraction(r.f32());
  }
  if ((stateByte & HAS_KEYSETS) === 0) return { node, region, version, health: { state, healthy, names: { ...names }, at } };
  const n = r.u8();
  if (n === 0 || n > MAX_KEYSETS) throw new GossipDecodeError(`invalid DNSSEC key-set count ${n}`);
  const keysets: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < n; i++) {
    const zone = r.name();
    const fingerprint = r.name();
    if (!KEYSET_FINGERPRINT.test(fingerprint)) throw new GossipDecodeError('invalid DNSSEC key-set fingerprint');
    keysets[zone] = fingerprint;
  }
  return { node, region, version, health: { state, healthy, names: { ...names }, at, keysets: { ...keysets } } };
}

/** Decodes one (non-compound) message. */
export function decodeMessage(buf: Uint8Array): Message {
  const r = new Reader(buf);
  const type = r.u8();
  let m: Message;
  switch (type) {
    case MsgType.Ping:
      m = { type: 'ping', seq: r.u32(), node: r.str8() };
      break;
    case MsgType.IndirectPing:
      m = { type: 'indirect-ping', seq: r.u32(), node: r.name(), addr: r.name(), nack: r.u8() === 1 };
      break;
    case MsgType.Ack:
      m = { type: 'ack', seq: r.u32() };
      break;
    case MsgType.Nack:
      m = { type: 'nack', seq: r.u32() };
      break;
    case MsgType.Suspect:
      m = { type: 'suspect', incarnation: r.u32(), node: r.name(), from: r.name() };
      break;
    case MsgType.Dead:
      m = { type: 'dead', incarnation: r.u32(), node: r.name(), from: r.name() };
      break;
    case MsgType.Alive:
      m = { type: 'alive', incarnation: r.u32(), node: r.name(), addr: r.name(), region: r.name() };
      break;
    case MsgType.Health:
      m = { type: 'health', record: readHealth(r) };
      break;
    default:
      throw new GossipDecodeError(`unknown message type ${type}`);
  }
  r.end();
  return m;
}

/** Wraps several encoded messages in one compound message. */
export function encodeCompound(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length > MAX_COMPOUND_PARTS) throw new GossipDecodeError('too many parts for one compound message');
  const w = new Writer();
  w.u8(MsgType.Compound);
  w.u8(parts.length);
  for (const p of parts) w.u16(p.length);
  for (const p of parts) w.bytes(p);
  return w.done();
}

/** Splits a datagram payload into its messages' bytes (one, or the parts of a compound). */
export function splitPacket(buf: Uint8Array): Uint8Array[] {
  if (buf.length === 0) throw new GossipDecodeError('empty packet');
  if (buf[0] !== MsgType.Compound) return [buf];
  const r = new Reader(buf, 1);
  const count = r.u8();
  if (count === 0) throw new GossipDecodeError('empty compound message');
  const lengths: number[] = [];
  for (let i = 0; i < count; i++) lengths.push(r.u16());
  const parts: Uint8Array[] = [];
  let pos = r.pos;
  for (const len of lengths) {
    if (pos + len > buf.length) throw new GossipDecodeError('compound part runs past the end of the packet');
    const part = buf.subarray(pos, pos + len);
    if (part.length > 0 && part[0] === MsgType.Compound) throw new GossipDecodeError('nested compound message');
    parts.push(part);
    pos += len;
  }
  if (pos !== buf.length) throw new GossipDecodeError('trailing bytes after compound parts');
  return parts;
}

export function encodePushPull(m: PushPullMsg): Uint8Array {
  const w = new Writer();
  w.u8(MsgType.PushPull);
  w.u8(m.join ? 1 : 0);
  w.u32(m.nodes.length);
  w.u32(m.health.length);
  for (const n of m.nodes) {
    w.str8(n.name);
    w.str8(n.addr);
    w.str8(n.region);
    w.u32(n.incarnation);
    w.u8(STATE_CODES.indexOf(n.state));
  }
  for (const h of m.health) writeHealth(w, h);
  return w.done();
}

export function decodePushPull(buf: Uint8Array, maxEntries = 100_000): PushPullMsg {
  const r = new Reader(buf);
  if (r.u8() !== MsgType.PushPull) throw new GossipDecodeError('not a push-pull message');
  const join = r.u8() === 1;
  const nodeCount = r.u32();
  const healthCount = r.u32();
  if (nodeCount > maxEntries || healthCount > maxEntries) throw new GossipDecodeError(`push-pull claims too many entries (${nodeCount} nodes, ${healthCount} health records)`);
  // Each entry needs several bytes: a count that lies about the size fails here, before any allocation.
  if (nodeCount * 8 + healthCount * 24 > buf.length) throw new GossipDecodeError('push-pull counts exceed the message size');
  const nodes: PushNodeState[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const name = r.name();
    const addr = r.name();
    const region = r.name();
    const incarnation = r.u32();
    const code = r.u8();
    const state = STATE_CODES[code];
    if (!state) throw new GossipDecodeError(`invalid member state ${code}`);
    nodes.push({ name, addr, region, incarnation, state });
  }
  const health: HealthRecord[] = [];
  for (let i = 0; i < healthCount; i++) health.push(readHealth(r));
  r.end();
  return { join, nodes, health };
}
