/**
 * A cluster's requests and retries in flight: what the retry budget is
 * computed from. It lives beside the snapshot, found by cluster name, so a
 * config apply neither resets the budget (a release step used to give every
 * cluster a fresh, empty count while the old requests were still in flight)
 * nor loses the decrements of requests that started on the previous table.
 */
export class ClusterLoad {
  active = 0;
  activeRetries = 0;
}

/**
 * The loads of every cluster a table names. Tables hold their loads strongly
 * and this registry weakly: a cluster no table and no request refers to any
 * more is collected, and re-adding it later starts from what is really in
 * flight (nothing), so there is no pruning step to get wrong.
 */
export class ClusterLoads {
  readonly #byName = new Map<string, WeakRef<ClusterLoad>>();

  get(cluster: string): ClusterLoad {
    let load = this.#byName.get(cluster)?.deref();
    if (load === undefined) {
      load = new ClusterLoad();
      this.#byName.set(cluster, new WeakRef(load));
      for (const [name, ref] of this.#byName) if (ref.deref() === undefined) this.#byName.delete(name);
    }
    return load;
  }
}
