/**
 * Names -> values without building a string per query: an open-addressing
 * table keyed by an FNV-1a hash of the wire name with ASCII letters folded to
 * lower case (RFC 4343), compared byte by byte on a hash hit. Built once per
 * config; lookups allocate nothing.
 */
export class NameTable<T> {
  readonly #mask: number;
  readonly #hashes: Int32Array;
  readonly #keys: (Buffer | undefined)[];
  readonly #values: (T | undefined)[];
  readonly size: number;

  /** `entries` are lowercase wire names (as the zone compiler makes them). */
  constructor(entries: Iterable<[Buffer, T]>) {
    const list = [...entries];
    let cap = 8;
    while (cap < list.length * 2) cap *= 2;
    this.#mask = cap - 1;
    this.#hashes = new Int32Array(cap);
    this.#keys = new Array<Buffer | undefined>(cap).fill(undefined);
    this.#values = new Array<T | undefined>(cap).fill(undefined);
    for (const [name, value] of list) {
      const h = hashName(name, 0, name.length);
      let i = h & this.#mask;
      while (this.#keys[i] !== undefined) {
        if (this.#hashes[i] === h && equalFolded(this.#keys[i]!, name, 0, name.length)) break; // later entries win
        i = (i + 1) & this.#mask;
      }
      this.#hashes[i] = h;
      this.#keys[i] = name;
      this.#values[i] = value;
    }
    this.size = list.length;
  }

  /** Looks up the wire name in `buf[start, end)`, in any letter case. */
  get(buf: Buffer, start: number, end: number): T | undefined {
    const h = hashName(buf, start, end);
    const keys = this.#keys;
    let i = h & this.#mask;
    for (;;) {
      const k = keys[i];
      if (k === undefined) return undefined;
      if (this.#hashes[i] === h && equalFolded(k, buf, start, end)) return this.#values[i];
      i = (i + 1) & this.#mask;
    }
  }

  values(): T[] {
    return this.#values.filter((v, i) => this.#keys[i] !== undefined) as T[];
  }
}

function hashName(buf: Buffer, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) {
    let c = buf[i]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h;
}

/** `key` is lowercase; `buf[start, end)` may be in any case. */
function equalFolded(key: Buffer, buf: Buffer, start: number, end: number): boolean {
  if (key.length !== end - start) return false;
  for (let i = 0; i < key.length; i++) {
    let c = buf[start + i]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== key[i]) return false;
  }
  return true;
}
