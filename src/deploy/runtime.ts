import { EngineError, type EngineClient } from '../discovery/docker-engine.ts';

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  state: string;
  /** The daemon's words: `Up 3 minutes (healthy)`. */
  status: string;
  /** The deploy that made it, when one did. */
  release: string | null;
  port: string | null;
}

/** The container operations of a deploy, on one daemon. Every call is idempotent: a retried step does no harm. */
export class UnitRuntime {
  readonly #c: EngineClient;

  constructor(client: EngineClient) {
    this.#c = client;
  }

  /** The image is present, or pulled now; anything else throws with the daemon's reason. */
  async ensureImage(image: string): Promise<void> {
    const { status } = await this.#c.call('GET', `/images/${encodeURIComponent(image)}/json`);
    if (status === 200) return;
    if (status !== 404) throw new EngineError('EP_ENGINE_HTTP', `image ${image}: inspect answered ${status}`, status);
    const { name, tag } = splitImage(image);
    // The pull streams progress lines; an error comes as a line with "error" even under status 200.
    const res = await this.#c.call<string | { error?: string; message?: string }>('POST', `/images/create?${new URLSearchParams({ fromImage: name, tag })}`, { timeoutMs: 600_000 });
    const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
    const error = /"(?:error|message)"\s*:\s*"([^"]*)"/.exec(text)?.[1];
    if (res.status !== 200 || error) throw new EngineError('EP_ENGINE_HTTP', `image ${image} is not on the host and cannot be pulled: ${error ?? `status ${res.status}`}`, res.status);
    const again = await this.#c.call('GET', `/images/${encodeURIComponent(image)}/json`);
    if (again.status !== 200) throw new EngineError('EP_ENGINE_HTTP', `image ${image} is not on the host after the pull`, again.status);
  }

  /** Creates and starts a container; a name left by an earlier attempt is removed first. */
  async run(name: string, body: Record<string, unknown>): Promise<string> {
    let created = await this.#c.call<{ Id?: string; message?: string }>('POST', `/containers/create?name=${encodeURIComponent(name)}`, { body });
    if (created.status === 409) {
      await this.#c.call('DELETE', `/containers/${encodeURIComponent(name)}?force=1`);
      created = await this.#c.call('POST', `/containers/create?name=${encodeURIComponent(name)}`, { body });
    }
    if (created.status !== 201 || !created.body?.Id) throw new EngineError('EP_ENGINE_HTTP', `create ${name} answered ${created.status}: ${created.body?.message ?? ''}`, created.status);
    await this.#c.expect('POST', `/containers/${created.body.Id}/start`, {}, [304]);
    return created.body.Id;
  }

  async state(id: string): Promise<{ running: boolean; detail: string }> {
    const c = await this.#c.inspectContainer(id);
    if (!c) return { running: false, detail: 'no longer exists' };
    if (c.State?.Running) return { running: true, detail: 'running' };
    return { running: false, detail: `exited with code ${c.State?.ExitCode ?? '?'} (${c.State?.Status ?? 'unknown'})` };
  }

  /** The containers carrying `labels`, running or not, for display. */
  async describe(labels: Record<string, string>): Promise<ContainerInfo[]> {
    const list = await this.#c.listContainers(labels, { all: true });
    return list
      .map((c) => ({
        id: c.Id.slice(0, 12),
        name: (c.Names?.[0] ?? '').replace(/^\//, ''),
        image: c.Image ?? '',
        state: c.State ?? '',
        status: c.Status ?? '',
        release: c.Labels?.['edgeplane.release'] ?? null,
        port: c.Labels?.['edgeplane.port'] ?? null,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Stops (SIGTERM, then SIGKILL after `stopTimeoutMs`) and removes every container carrying `labels`; returns how many. */
  async removeAll(labels: Record<string, string>, stopTimeoutMs = 0): Promise<number> {
    const list = await this.#c.listContainers(labels, { all: true });
    const t = Math.ceil(stopTimeoutMs / 1000);
    await Promise.all(
      list.map(async (c) => {
        if (t > 0 && c.State === 'running') await this.#c.call('POST', `/containers/${c.Id}/stop?t=${t}`, { timeoutMs: stopTimeoutMs + 30_000 });
        const r = await this.#c.call('DELETE', `/containers/${c.Id}?force=1`, { timeoutMs: 60_000 });
        if (r.status !== 204 && r.status !== 404) throw new EngineError('EP_ENGINE_HTTP', `remove ${c.Id.slice(0, 12)} answered ${r.status}`, r.status);
      }),
    );
    return list.length;
  }
}

/** `registry:5000/api:v2` → {name: registry:5000/api, tag: v2}; no tag means latest; a digest stays in the name. */
export function splitImage(image: string): { name: string; tag: string } {
  if (image.includes('@')) return { name: image, tag: '' };
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon > slash) return { name: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { name: image, tag: 'latest' };
}
