import { isIP } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

/** Parses `host:port`, `[v6]:port`; throws with a readable message. */
export function parseHostPort(text: string, defaultPort?: number): HostPort {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) throw new Error(`invalid address ${JSON.stringify(text)}`);
    host = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (rest && !rest.startsWith(':')) throw new Error(`invalid address ${JSON.stringify(text)}`);
    portText = rest ? rest.slice(1) : undefined;
  } else {
    const idx = text.lastIndexOf(':');
    if (idx >= 0 && text.indexOf(':') === idx) {
      host = text.slice(0, idx);
      portText = text.slice(idx + 1);
    } else if (idx >= 0 && isIP(text) === 6) {
      host = text;
    } else {
      host = text;
    }
  }
  const port = portText === undefined ? defaultPort : Number(portText);
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid port in address ${JSON.stringify(text)}`);
  }
  if (!host) throw new Error(`missing host in address ${JSON.stringify(text)}`);
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host.startsWith('::ffff:127.');
}
