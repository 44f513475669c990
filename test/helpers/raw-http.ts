import net from 'node:net';

/** Sends bytes exactly as given (for malformed or hop-by-hop-laden requests) and returns everything the server sent until it closed or `idleMs` of silence. */
export function rawHttp(port: number, payload: string | Buffer, idleMs = 300): Promise<string> {
  return rawExchange(net.connect(port, '127.0.0.1'), 'connect', payload, idleMs);
}

/**
 * Writes `payload` once `socket` emits `readyEvent` and collects what comes
 * back (latin1) until the peer closes or `idleMs` pass in silence: the one
 * loop behind the plain and the TLS raw clients.
 */
export function rawExchange(socket: net.Socket, readyEvent: 'connect' | 'secureConnect', payload: string | Buffer, idleMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(data);
    };
    socket.on(readyEvent, () => socket.write(payload));
    socket.on('data', (d) => {
      data += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(done, idleMs);
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (err) => (data ? done() : reject(err)));
  });
}

/** Splits a raw HTTP/1.1 response into status, lower-case headers and body. */
export function parseRawResponse(text: string): { status: number; headers: Record<string, string>; body: string } {
  const end = text.indexOf('\r\n\r\n');
  const head = text.slice(0, end).split('\r\n');
  const status = Number(head[0]!.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = text.slice(end + 4);
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  return { status, headers, body };
}

function dechunk(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = text.indexOf('\r\n', at);
    if (eol < 0) return out;
    const size = parseInt(text.slice(at, eol), 16);
    if (!size) return out;
    out += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}
