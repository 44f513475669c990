import type { Socket } from 'node:net';

/**
 * Per-client connection caps for one listener: a client address holding
 * `max` open connections has its next one closed at once, before any TLS
 * or HTTP work is spent on it.
 */
export class ClientConnectionCaps {
  readonly #open = new Map<string, number>();
  #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  set max(n: number) {
    this.#max = n;
  }

  /** Counts `socket` against its address; returns false (and destroys it) when the address is over its cap. */
  admit(socket: Socket): boolean {
    const ip = socket.remoteAddress ?? '';
    const n = this.#open.get(ip) ?? 0;
    if (n >= this.#max) {
      socket.destroy();
      return false;
    }
    this.#open.set(ip, n + 1);
    socket.once('close', () => {
      const left = (this.#open.get(ip) ?? 1) - 1;
      if (left <= 0) this.#open.delete(ip);
      else this.#open.set(ip, left);
    });
    return true;
  }

  /** Open connections of one address (for tests and metrics). */
  count(ip: string): number {
    return this.#open.get(ip) ?? 0;
  }
}
