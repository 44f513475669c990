import { FencedDocument } from '../control/fenced-document.ts';
import type { Fence } from '../control/leader-election.ts';
import { StateCorruptError } from '../control/errors.ts';
import { KEEP_FINISHED, parseReleases, type PersistedReleases } from './persistence.ts';
import { isActive, type ReleaseRecord } from './model.ts';
import type { Etcd3 } from 'etcd3';

/** Where the controller persists release state: the node's state directory (persistence.ts) or, in a fleet, etcd. */
export interface ReleaseStateStore {
  write(nextId: number, records: Iterable<ReleaseRecord>): Promise<void>;
}

/**
 * The fleet's release state in etcd (`<prefix>/releases/state`), written only
 * by the driver and fenced by its leader key: a step's state is stored here
 * before the config write it implies, so whichever node takes over reads
 * exactly how far the release got.
 */
export class EtcdReleaseState implements ReleaseStateStore {
  readonly #doc: FencedDocument;
  readonly #fence: () => Fence | null;

  constructor(client: Etcd3, key: string, timeoutMs: number, fence: () => Fence | null) {
    this.#doc = new FencedDocument(client, key, timeoutMs);
    this.#fence = fence;
  }

  get key(): string {
    return this.#doc.key;
  }

  /** The stored state (empty when none); a document that does not parse throws StateCorruptError. */
  async load(): Promise<PersistedReleases> {
    const text = await this.#doc.read();
    if (text === null) return { format: 1, nextId: 1, releases: [] };
    try {
      return parseReleases(JSON.parse(text));
    } catch (err) {
      throw new StateCorruptError(this.#doc.key, (err as Error).message);
    }
  }

  write(nextId: number, records: Iterable<ReleaseRecord>): Promise<void> {
    const all = [...records];
    const finished = new Set(all.filter((r) => !isActive(r.phase)).slice(-KEEP_FINISHED));
    const value: PersistedReleases = { format: 1, nextId, releases: all.filter((r) => isActive(r.phase) || finished.has(r)) };
    return this.#doc.write(JSON.stringify(value), this.#fence());
  }
}
