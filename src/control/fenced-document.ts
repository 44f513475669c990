import type { Etcd3 } from 'etcd3';
import { FencedError, StoreUnavailableError } from './errors.ts';
import type { Fence } from './leader-election.ts';

/**
 * One JSON document in etcd that only the leader writes (the fleet's release
 * state). Each write is a transaction that puts the document only if the
 * leader key still has the writer's create revision: a deposed leader's late
 * write is refused by etcd itself, whatever that leader believes.
 *
 * A write is a whole-document overwrite by the one leader, so sending it
 * again after an unclear outcome is safe (unlike a config write, there is no
 * version to assign in the compare).
 */
export class FencedDocument {
  readonly #client: Etcd3;
  readonly #key: string;
  readonly #timeoutMs: number;

  constructor(client: Etcd3, key: string, timeoutMs: number) {
    this.#client = client;
    this.#key = key;
    this.#timeoutMs = timeoutMs;
  }

  get key(): string {
    return this.#key;
  }

  /** The stored text, or null when the key does not exist. */
  async read(): Promise<string | null> {
    try {
      const res = await this.#client.get(this.#key).options({ deadline: Date.now() + this.#timeoutMs }).exec();
      return res.kvs[0]?.value.toString() ?? null;
    } catch (err) {
      throw new StoreUnavailableError(`cannot read ${this.#key}: ${(err as Error).message}`);
    }
  }

  /** Puts `text` if `fence` still holds; FencedError when it does not, StoreUnavailableError when etcd does not answer. */
  async write(text: string, fence: Fence | null): Promise<void> {
    if (!fence) throw new FencedError('this node is not the leader');
    let res;
    try {
      res = await this.#client
        .if(fence.key, 'Create', '==', fence.revision)
        .then(this.#client.put(this.#key).value(text))
        .else(this.#client.get(fence.key))
        .options({ deadline: Date.now() + this.#timeoutMs })
        .commit();
    } catch (err) {
      throw new StoreUnavailableError(`cannot write ${this.#key}: ${(err as Error).message}`, true);
    }
    if (!res.succeeded) {
      const kv = res.responses[0]?.response_range?.kvs[0];
      throw new FencedError(kv ? `the leader key is now held since revision ${kv.create_revision}, not ${fence.revision}` : 'the leader key is gone (lease expired)');
    }
  }

  /** Deletes `key` under the fence; true when it existed (so exactly one leader takes it). */
  async take(key: string, fence: Fence | null): Promise<boolean> {
    if (!fence) throw new FencedError('this node is not the leader');
    const res = await this.#client
      .if(fence.key, 'Create', '==', fence.revision)
      .and(key, 'Create', '>', 0)
      .then(this.#client.delete().key(key))
      .options({ deadline: Date.now() + this.#timeoutMs })
      .commit();
    return res.succeeded;
  }
}
