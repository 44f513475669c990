import { connect } from 'node:net';
import type { Probe } from './active-checker.ts';

/** TCP checks: passing means the three-way handshake completed; nothing is sent. */
export const tcpProbe: Probe = (target, signal) =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve({ ok: false, detail: 'aborted' });
    const socket = connect({ host: target.host, port: target.port });
    const done = (ok: boolean, detail: string) => {
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve({ ok, detail });
    };
    const onAbort = () => done(false, 'aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done(true, 'connected'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(false, `connect ${err.code ?? err.message}`));
  });
