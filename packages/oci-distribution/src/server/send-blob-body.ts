/**
 * Sends a blob body after the headers. A stream is piped. A reader gets two buffers in turn:
 * one is being written to the socket while the other is filled, and a buffer is filled again
 * only after the socket has taken its bytes (the write callback), so no chunk is allocated or
 * copied per read and a response holds at most two chunks of memory.
 * A blob already in memory (BufferedBlob) is sent in one write. The response ends once the bytes
 * its Content-Length promised are sent: the reader is not asked for its end, which may come later
 * (a pull-through fill's reader ends after the blob is stored), and the connection is free for the
 * client's next request at once.
 * A failure can only cut the connection: the client sees a short body, never wrong bytes.
 */
import type { ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { BlobReader, OpenedBlob } from "@regmirror/core";
import type { BodyBufferPool } from "./body-buffers.js";
import { isBufferedBlob, type StreamedBlob } from "./registry-storage.js";

export async function sendBlobBody(
  blob: OpenedBlob | StreamedBlob,
  response: ServerResponse,
  pool: BodyBufferPool,
): Promise<void> {
  if ("stream" in blob) {
    await pipeline(blob.stream, response);
    return;
  }
  if (isBufferedBlob(blob)) {
    // Already in memory (a small blob): one write, no buffers lent, no read round trips.
    await blob.reader.close();
    response.end(blob.bytes);
    return;
  }
  try {
    await sendFromReader(blob.reader, blob.end - blob.start + 1, response, pool);
  } catch (error) {
    response.destroy();
    throw error;
  } finally {
    await blob.reader.close();
  }
}

/** Settles when the socket has taken `chunk`, or rejects when the response goes away first. */
function write(response: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const onClose = () => reject(new Error("the client closed the connection"));
    response.once("close", onClose);
    response.write(chunk, (error) => {
      response.off("close", onClose);
      if (error) reject(error);
      else resolve();
    });
  });
}

async function sendFromReader(
  reader: BlobReader,
  length: number,
  response: ServerResponse,
  pool: BodyBufferPool,
): Promise<void> {
  const buffers = [pool.take(), pool.take()] as const;
  // A buffer goes back to the pool only once the socket is done with it.
  const reusable = [true, true];
  const writes: (Promise<void> | undefined)[] = [undefined, undefined];
  let failure: Error | undefined;
  const watch = (turn: number, sent: Promise<void>) =>
    sent.then(
      () => {
        reusable[turn] = true;
      },
      (error: Error) => {
        failure ??= error;
      },
    );
  try {
    let left = length;
    for (let turn = 0; left > 0; turn ^= 1) {
      await writes[turn];
      if (failure !== undefined) throw failure;
      const buffer = buffers[turn] as Buffer;
      let bytesRead: number;
      try {
        // A reader yields no more than its range: the whole buffer is lent, as always.
        bytesRead = Math.min(await reader.read(buffer), left);
      } catch (error) {
        // Bytes already read reach the socket before it is cut.
        await Promise.all(writes);
        throw error;
      }
      if (bytesRead === 0) break;
      left -= bytesRead;
      reusable[turn] = false;
      writes[turn] = watch(turn, write(response, buffer.subarray(0, bytesRead)));
    }
    await Promise.all(writes);
    if (failure !== undefined) throw failure;
    // Every byte was taken by the socket; `end` adds none (the length was in the headers).
    response.end();
  } finally {
    buffers.forEach((buffer, turn) => {
      if (reusable[turn]) pool.give(buffer);
    });
  }
}
