/**
 * Room on the disk that holds the spool (docs/adr/0015-filesystem-store-ownership-and-space.md):
 * a download whose size upstream announced reserves it before the first byte is written, so
 * a blob that cannot fit is known before its client gets an answer. When the disk is short, the
 * store is asked to evict least recently used content; what still does not fit is streamed
 * through to its client without being stored.
 */
import { statfs } from "node:fs/promises";
import type { BlobStore } from "@regmirror/blob-store";

export interface SpoolReservation {
  /** Bytes of the reservation now on disk (they no longer count as outstanding). */
  wrote(bytes: number): void;
  release(): void;
}

export interface SpoolSpace {
  /** Room for `bytes` more in the spool, or undefined when there is none even after evicting. */
  reserve(bytes: number): Promise<SpoolReservation | undefined>;
}

/** Left free for metadata records and directory entries. */
const headroomBytes = 1024 * 1024;

export function createSpoolSpace(deps: { directory: string; blobStore: BlobStore }): SpoolSpace {
  /** Bytes reserved by running downloads and not written yet. */
  const outstanding = new Map<object, number>();

  async function freeBytes(): Promise<number> {
    const stats = await statfs(deps.directory);
    return stats.bavail * stats.bsize;
  }

  /** One reservation at a time, so two downloads never count the same free bytes. */
  let queue: Promise<unknown> = Promise.resolve();

  async function reserveNow(bytes: number): Promise<SpoolReservation | undefined> {
    let others = 0;
    for (const left of outstanding.values()) others += left;
    const needed = others + bytes + headroomBytes;
    if ((await freeBytes()) < needed) {
      // The store frees what it can on its own disk (the spool's, for a filesystem store).
      await deps.blobStore.makeRoom(needed);
      if ((await freeBytes()) < needed) return undefined;
    }
    const key = {};
    outstanding.set(key, bytes);
    return {
      wrote(written) {
        const left = outstanding.get(key);
        if (left !== undefined) outstanding.set(key, Math.max(0, left - written));
      },
      release() {
        outstanding.delete(key);
      },
    };
  }

  return {
    reserve(bytes) {
      const reserved = queue.then(() => reserveNow(bytes));
      queue = reserved.catch(() => {});
      return reserved;
    },
  };
}
