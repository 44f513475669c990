import type { Etcd3, Lease } from 'etcd3';
import type { Logger } from '../util/logger.ts';

/**
 * Keys this node keeps in etcd only while it is alive: its status (and, for
 * releases, its traffic counters). They hang on one lease with a TTL; when the
 * node dies (or is partitioned away) for longer than the TTL, etcd deletes
 * them, so readers see only live nodes. A lost lease (etcd down longer than
 * the TTL) is granted again and every key put back on the next `flush`.
 */
export class LeasedKeys {
  readonly #client: Etcd3;
  readonly #ttlSeconds: number;
  readonly #log: Logger;
  readonly #values = new Map<string, string>();
  readonly #dirty = new Set<string>();
  #lease: Lease | null = null;
  #flushing: Promise<void> | null = null;
  #closed = false;

  constructor(client: Etcd3, ttlMs: number, logger: Logger) {
    this.#client = client;
    this.#ttlSeconds = Math.max(1, Math.round(ttlMs / 1000));
    this.#log = logger;
  }

  /** Sets a key's value; written on the next flush (and again after a lease is lost). */
  set(key: string, value: string): void {
    if (this.#values.get(key) === value) return;
    this.#values.set(key, value);
    this.#dirty.add(key);
  }

  /** Writes what changed since the last flush; never throws (a failure is retried on the next call). */
  flush(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#flushing ??= this.#flush().finally(() => (this.#flushing = null));
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    try {
      if (!this.#lease) {
        const lease = this.#client.lease(this.#ttlSeconds, { autoKeepAlive: true });
        lease.on('lost', (err) => {
          this.#log.warn({ err: err?.message }, 'etcd lease lost; its keys are put back under a new one');
          if (this.#lease === lease) this.#lease = null;
          for (const k of this.#values.keys()) this.#dirty.add(k);
        });
        await lease.grant();
        this.#lease = lease;
        for (const k of this.#values.keys()) this.#dirty.add(k);
      }
      for (const key of [...this.#dirty]) {
        this.#dirty.delete(key);
        const value = this.#values.get(key)!;
        try {
          await this.#lease.put(key).value(value).exec();
        } catch (err) {
          this.#dirty.add(key);
          throw err;
        }
      }
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'cannot write leased keys yet');
      const lease = this.#lease;
      if (lease && lease.revoked()) this.#lease = null;
    }
  }

  /** The lease id in force (for fencing), or null. */
  async leaseId(): Promise<string | null> {
    return this.#lease ? this.#lease.grant().catch(() => null) : null;
  }

  /** Revokes the lease (the keys go at once, so peers don't wait for the TTL). */
  async close(): Promise<void> {
    this.#closed = true;
    const lease = this.#lease;
    this.#lease = null;
    if (lease) await lease.revoke({ deadline: Date.now() + 1000 }).catch(() => {});
  }
}
