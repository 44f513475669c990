/**
 * What the protocol needs from the network, and nothing more: unreliable
 * datagrams (UDP in production) and one request/response exchange over a
 * reliable stream (TCP) for push-pull. Callback-style on purpose: the same
 * protocol code then runs synchronously on a virtual clock in the simulation,
 * with no promise microtasks to interleave.
 */
import type { StreamGate } from './stream-gate.ts';

export type PacketHandler = (data: Uint8Array, from: string) => void;
/** Handles one stream request; calls `reply` at most once (or never, to drop it). */
export type StreamHandler = (request: Uint8Array, from: string, reply: (response: Uint8Array) => void) => void;
export type ExchangeCallback = (err: Error | undefined, response?: Uint8Array) => void;

export interface Transport {
  /** `host:port` other members use to reach this one; valid once start() resolved. */
  readonly address: string;
  /**
   * `gate` checks each stream frame's sealed head before the frame is
   * buffered (see stream-gate.ts); transports that carry no bytes from
   * outside (the simulation's) ignore it.
   */
  start(onPacket: PacketHandler, onStream: StreamHandler, gate?: StreamGate): Promise<void>;
  /** Best effort; errors are counted by the transport, never thrown. */
  sendPacket(to: string, data: Uint8Array): void;
  /** Sends `request` over a new stream to `to` and calls back with the response or an error, within timeoutMs. */
  exchange(to: string, request: Uint8Array, timeoutMs: number, cb: ExchangeCallback): void;
  close(): Promise<void>;
}
