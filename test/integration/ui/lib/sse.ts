/** A test-side reader of GET /v1/dashboard/events: collects parsed events until the stream ends. */
export interface SseReader {
  status: number;
  events: { event: string; data: any }[];
  /** Resolves when the server ends the stream (or it is aborted). */
  ended: Promise<void>;
  abort(): void;
}

export async function openSse(url: string, token: string | null): Promise<SseReader> {
  const ctrl = new AbortController();
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: ctrl.signal });
  const events: SseReader['events'] = [];
  const ended = (async () => {
    if (!res.ok || !res.body) return void (await res.text().catch(() => ''));
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data !== undefined) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted by the test
    }
  })();
  return { status: res.status, events, ended, abort: () => ctrl.abort() };
}
