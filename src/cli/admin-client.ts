/** The admin API over HTTP, for the `release` and `deploy` commands (bearer token and author header on every call). */
export class AdminClient {
  readonly base: string;
  readonly #token: string | undefined;
  readonly #author: string | undefined;

  constructor(base: string, token: string | undefined, author: string | undefined) {
    this.base = base.replace(/\/+$/, '');
    this.#token = token;
    this.#author = author;
  }

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = {};
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (this.#author) headers['x-edgeplane-author'] = this.#author;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.base + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: shown as is
    }
    return { status: res.status, body: parsed };
  }
}
