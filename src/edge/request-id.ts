import { randomUUID } from 'node:crypto';

const HEX2: string[] = [];
for (let i = 0; i < 256; i++) HEX2.push(i.toString(16).padStart(2, '0'));

/** Ids per random block: the last four hex digits count through it. */
const BLOCK = 0x10000;

/**
 * Request ids in the UUID v4 text form (what `X-Request-Id` has always
 * carried), cheaper than one randomUUID() per request: a block of 65,536
 * ids shares the first 32 hex digits of one random UUID (version and variant
 * bits included) and the last four count through the block, then a new
 * random block starts. Ids are unique (a block collides with another only
 * if 112 random bits do) but, within a block, sequential: they identify a
 * request, they are not secrets. `random` is injectable for tests.
 */
export class RequestIds {
  #prefix = '';
  #n = BLOCK;
  readonly #random: () => string;

  constructor(random: () => string = randomUUID) {
    this.#random = random;
  }

  next(): string {
    let n = this.#n;
    if (n === BLOCK) {
      this.#prefix = this.#random().slice(0, 32);
      n = 0;
    }
    this.#n = n + 1;
    return this.#prefix + HEX2[n >>> 8]! + HEX2[n & 0xff]!;
  }
}

/** The process's id source for the request path. */
export const requestIds = new RequestIds();
