import type { OnReadOpts } from 'node:net';

/** Per connection; a read gets at least MIN_READ_BYTES of room, below that the next read starts a new slab. */
const SLAB_BYTES = 32 * 1024;
const MIN_READ_BYTES = 8 * 1024;

/**
 * net's `onread` for one socket: reads land in successive slices of a slab
 * and go straight to `onData`, past the Readable stream machinery (push,
 * buffer list, 'data' event) and without an ArrayBuffer per read. A slice is
 * handed out once and never reused, so a chunk that a parser keeps or that a
 * socket write still holds is never overwritten; a slab is freed with its last
 * slice. One slab per socket, because a socket owns its read buffer from one
 * read to the next: slices of a shared slab would overlap.
 */
export function slabReads(onData: (chunk: Buffer) => void): OnReadOpts {
  let slab = Buffer.allocUnsafe(SLAB_BYTES);
  let offset = 0;
  return {
    buffer: (): Buffer => {
      if (SLAB_BYTES - offset < MIN_READ_BYTES) {
        slab = Buffer.allocUnsafe(SLAB_BYTES);
        offset = 0;
      }
      return slab.subarray(offset);
    },
    callback: (bytes: number, buf: Uint8Array): boolean => {
      offset += bytes;
      onData((buf as Buffer).subarray(0, bytes));
      return true;
    },
  };
}
