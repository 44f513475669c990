import type { Etcd3, Lease } from 'etcd3';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';

/** Who holds the leader key, as stored in it. */
export interface LeaderInfo {
  id: string;
  pid: number;
  /** The leader key's create revision: the fencing token every fenced write compares. */
  revision: number;
  since: string;
}

/** What a fenced write compares: the leader key must still have this create revision. */
export interface Fence {
  key: string;
  revision: number;
}

export interface LeaderElectionOptions {
  client: Etcd3;
  /** The leader key (`<prefix>/releases/leader`). */
  key: string;
  nodeId: string;
  ttlMs: number;
  clock: Clock;
  logger: Logger;
  /** How often a follower looks for a free leader key, and a leader checks it still holds it. */
  pollMs?: number;
}

/**
 * One leader per fleet, by an etcd lease: the leader key is created only
 * when absent (txn on create revision 0) and hangs on the candidate's lease,
 * so it vanishes a TTL after the leader dies or is partitioned away, and the
 * next candidate to poll takes it. Same mechanism as etcd's own
 * concurrency/election, minus the queue of waiters: a fleet has a handful of
 * candidates and any of them will do.
 *
 * The key's create revision is the fencing token. A leader that was paused
 * (SIGSTOP) or cut off past its lease may still believe it leads when it
 * wakes: its own check (`fence()`) already says no once the lease could have
 * expired — counted from when the last acknowledged keepalive was *sent* —
 * and etcd refuses any write it still sends, because each fenced write
 * compares the key's create revision (a new leader's key has another).
 */
export class LeaderElection {
  readonly #o: Required<LeaderElectionOptions>;
  readonly #log: Logger;
  readonly #listeners = new Set<(leading: boolean) => void>();
  #lease: Lease | null = null;
  #revision = 0;
  /** Monotonic time until which the lease is certainly alive (keepalive sent at t and acknowledged → t + TTL). */
  #validUntil = 0;
  /** Send times of keepalives not acknowledged yet, oldest first (etcd answers them in order on the stream). */
  #fired: number[] = [];
  #timer: TimerHandle | undefined;
  #busy = false;
  #closed = false;
  #holder: LeaderInfo | null = null;

  constructor(o: LeaderElectionOptions) {
    this.#o = { pollMs: Math.max(100, Math.min(500, Math.floor(o.ttlMs / 4))), ...o };
    this.#log = o.logger.child({ component: 'leader-election', key: o.key });
  }

  get key(): string {
    return this.#o.key;
  }

  /** Starts campaigning (and keeps doing so while not leading). */
  start(): void {
    this.#schedule(0);
  }

  /** True while this node holds the key and its lease is certainly alive. */
  get leading(): boolean {
    return this.fence() !== null;
  }

  /** The fence for this node's writes, or null when it does not (or may no longer) lead; noticing expiry steps down. */
  fence(): Fence | null {
    if (!this.#lease || this.#revision === 0) return null;
    if (this.#o.clock.now() >= this.#validUntil) {
      this.stepDown('the lease may have expired (no keepalive acknowledged within its TTL)');
      return null;
    }
    return { key: this.#o.key, revision: this.#revision };
  }

  /** The leader as last seen (this node's own record while it leads). */
  get holder(): LeaderInfo | null {
    return this.#holder;
  }

  onChange(listener: (leading: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Gives up leadership (fenced write refused, lease expired): stops acting at once, revokes the lease, campaigns again later. */
  stepDown(why: string): void {
    const lease = this.#lease;
    if (!lease) return;
    this.#log.warn({ revision: this.#revision, why }, 'stepping down as release driver');
    this.#lease = null;
    this.#revision = 0;
    this.#validUntil = 0;
    this.#holder = null;
    void lease.revoke({ deadline: Date.now() + 1000 }).catch(() => {});
    this.#notify(false);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#o.clock.clearTimeout(this.#timer);
    const lease = this.#lease;
    const was = this.#revision !== 0;
    this.#lease = null;
    this.#revision = 0;
    // Revoking deletes the key at once: a peer takes over without waiting for the TTL.
    if (lease) await lease.revoke({ deadline: Date.now() + 1000 }).catch(() => {});
    if (was) this.#notify(false);
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = this.#o.clock.setTimeout(() => void this.#tick(), ms);
  }

  async #tick(): Promise<void> {
    if (this.#closed || this.#busy) return;
    this.#busy = true;
    try {
      if (this.#lease) await this.#check();
      else await this.#campaign();
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'leader election: etcd not answering');
    } finally {
      this.#busy = false;
      this.#schedule(this.#o.pollMs);
    }
  }

  /** While leading: the key must still be ours (a revoked or expired lease deletes it). */
  async #check(): Promise<void> {
    if (!this.fence()) return;
    const res = await this.#o.client.get(this.#o.key).options({ deadline: Date.now() + this.#o.ttlMs }).exec();
    const kv = res.kvs[0];
    if (!kv || Number(kv.create_revision) !== this.#revision) this.stepDown(kv ? `the leader key was taken at revision ${kv.create_revision}` : 'the leader key is gone');
  }

  async #campaign(): Promise<void> {
    const { client, key } = this.#o;
    const seen = await client.get(key).options({ deadline: Date.now() + this.#o.ttlMs }).exec();
    if (seen.kvs[0]) {
      this.#holder = parseHolder(seen.kvs[0].value.toString(), Number(seen.kvs[0].create_revision));
      return;
    }
    this.#holder = null;
    const ttlSeconds = Math.max(1, Math.round(this.#o.ttlMs / 1000));
    const lease = client.lease(ttlSeconds, { autoKeepAlive: true });
    const sentAt = this.#o.clock.now();
    let leaseId: string;
    try {
      leaseId = await lease.grant();
    } catch (err) {
      void lease.revoke().catch(() => {});
      throw err;
    }
    const info = { id: this.#o.nodeId, pid: process.pid, since: new Date(this.#o.clock.wallNow()).toISOString() };
    const res = await client
      .if(key, 'Create', '==', 0)
      .then(client.put(key).value(JSON.stringify(info)).lease(leaseId))
      .else(client.get(key))
      .commit()
      .catch(async (err: Error) => {
        await lease.revoke().catch(() => {});
        throw err;
      });
    if (!res.succeeded) {
      await lease.revoke().catch(() => {});
      const kv = res.responses[0]?.response_range?.kvs[0];
      this.#holder = kv ? parseHolder(kv.value.toString(), Number(kv.create_revision)) : null;
      return;
    }
    this.#lease = lease;
    this.#revision = Number(res.header.revision);
    this.#validUntil = sentAt + ttlSeconds * 1000;
    this.#holder = { ...info, revision: this.#revision };
    this.#fired = [];
    lease.on('keepaliveFired', () => this.#fired.push(this.#o.clock.now()));
    lease.on('keepaliveSucceeded', () => {
      const sentAt = this.#fired.shift();
      if (this.#lease === lease && sentAt !== undefined) this.#validUntil = Math.max(this.#validUntil, sentAt + ttlSeconds * 1000);
    });
    // A broken stream drops the keepalives in flight; their answers will never come.
    lease.on('keepaliveFailed', () => (this.#fired = []));
    lease.on('lost', (err) => {
      if (this.#lease === lease) this.stepDown(`lease lost: ${err?.message ?? 'expired'}`);
    });
    this.#log.info({ revision: this.#revision, ttlSeconds }, 'elected release driver');
    this.#notify(true);
  }

  #notify(leading: boolean): void {
    for (const l of this.#listeners) {
      try {
        l(leading);
      } catch (err) {
        this.#log.error({ err: (err as Error).message }, 'leader listener failed');
      }
    }
  }
}

function parseHolder(text: string, revision: number): LeaderInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LeaderInfo>;
    return { id: String(v.id), pid: Number(v.pid), since: String(v.since), revision };
  } catch {
    return { id: '(unreadable)', pid: 0, since: '', revision };
  }
}
