import { randomUUID } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { Fence } from './leader-election.ts';
import { FencedDocument } from './fenced-document.ts';

/** How a request sent to the leader ended when no answer came in time. */
export class RequestTimeoutError extends Error {
  /** True when the leader took the request (it may have acted on it); false when it was withdrawn untouched. */
  readonly taken: boolean;
  constructor(taken: boolean, waitedMs: number) {
    super(taken ? `the release driver took the request but did not answer within ${waitedMs}ms: the outcome is unknown` : `no release driver took the request within ${waitedMs}ms; it was withdrawn and nothing was done`);
    this.taken = taken;
  }
}

export interface FleetRequestsOptions {
  client: Etcd3;
  /** `<prefix>/releases`: requests go under `/requests/`, answers under `/results/`. */
  base: string;
  nodeId: string;
  clock: Clock;
  logger: Logger;
  pollMs: number;
  timeoutMs: number;
}

/**
 * Requests to whichever node leads, through etcd: a node that does not lead
 * puts the request under `<base>/requests/<id>` and waits for
 * `<base>/results/<id>`; the leader takes each request with a fenced delete
 * (exactly one leader can take it, and only while it leads), acts on it and
 * puts the answer (on a short lease, so an answer nobody collects expires).
 *
 * At most once: a leader that dies between taking a request and answering
 * leaves it neither re-done nor answered — the requester reports the outcome
 * as unknown and the release's status tells. Re-doing a promote or an abort
 * after a takeover could skip a step; losing one only costs a retry.
 */
export class FleetRequests {
  readonly #o: FleetRequestsOptions;
  readonly #doc: FencedDocument;
  #timer: TimerHandle | undefined;
  #serving: { handle: (payload: unknown) => Promise<unknown>; fence: () => Fence | null } | null = null;
  #busy = false;
  #closed = false;

  constructor(o: FleetRequestsOptions) {
    this.#o = o;
    this.#doc = new FencedDocument(o.client, `${o.base}/requests`, o.timeoutMs);
  }

  /** Sends `payload` to the leader and resolves with its answer. */
  async send(payload: unknown): Promise<unknown> {
    const { client, base } = this.#o;
    const id = randomUUID();
    const requestKey = `${base}/requests/${id}`;
    const resultKey = `${base}/results/${id}`;
    await client.put(requestKey).value(JSON.stringify({ from: this.#o.nodeId, at: new Date(this.#o.clock.wallNow()).toISOString(), payload })).exec();
    const started = Date.now();
    while (Date.now() - started < this.#o.timeoutMs) {
      const res = await client.get(resultKey).exec().catch(() => null);
      const kv = res?.kvs[0];
      if (kv) {
        await client.delete().key(resultKey).exec().catch(() => {});
        return JSON.parse(kv.value.toString()) as unknown;
      }
      await sleep(this.#o.pollMs);
    }
    // Withdraw it: if that deletes it, no leader ever took it.
    const withdrawn = await client
      .if(requestKey, 'Create', '>', 0)
      .then(client.delete().key(requestKey))
      .commit()
      .then((r) => r.succeeded)
      .catch(() => false);
    throw new RequestTimeoutError(!withdrawn, this.#o.timeoutMs);
  }

  /** While leading: takes and answers requests, oldest first. */
  serve(handle: (payload: unknown) => Promise<unknown>, fence: () => Fence | null): void {
    this.#serving = { handle, fence };
    this.#schedule(0);
  }

  stopServing(): void {
    this.#serving = null;
    this.#o.clock.clearTimeout(this.#timer);
  }

  close(): void {
    this.#closed = true;
    this.stopServing();
  }

  #schedule(ms: number): void {
    if (this.#closed || !this.#serving) return;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = this.#o.clock.setTimeout(() => void this.#poll(), ms);
  }

  async #poll(): Promise<void> {
    const serving = this.#serving;
    if (!serving || this.#busy) return;
    this.#busy = true;
    try {
      const { client, base } = this.#o;
      const res = await client.getAll().prefix(`${base}/requests/`).sort('Create', 'Ascend').exec();
      for (const kv of res.kvs) {
        if (this.#serving !== serving) return;
        const key = kv.key.toString();
        if (!(await this.#doc.take(key, serving.fence()))) continue;
        const id = key.slice(`${base}/requests/`.length);
        let answer: unknown;
        try {
          answer = await serving.handle((JSON.parse(kv.value.toString()) as { payload: unknown }).payload);
        } catch (err) {
          answer = { ok: false, error: { kind: 'unavailable', code: 'EP_RELEASE_REQUEST_FAILED', issues: [{ path: '', message: (err as Error).message }] } };
        }
        // On a lease of its own, not kept alive: an answer nobody collects expires.
        const lease = client.lease(60, { autoKeepAlive: false });
        await lease.put(`${base}/results/${id}`).value(JSON.stringify(answer)).exec();
      }
    } catch (err) {
      this.#o.logger.debug({ err: (err as Error).message }, 'cannot serve release requests yet');
    } finally {
      this.#busy = false;
      this.#schedule(this.#o.pollMs);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
