// The last access of every blob, in memory and written down now and then, for TTL and eviction.
import type { Clock, Logger } from "@regmirror/core";
import type { MetadataStore } from "../blob-store.js";

const recordPrefix = "blob-access/";

/**
 * Last access per digest (not per repository: a layer two repositories share stays as long as
 * either uses it). Exact in memory; written to the metadata store at most once per interval
 * per digest, in the background, and at close, so eviction order survives restarts without a
 * write per read and no read waits for a write.
 */
export interface AccessTimes {
  get(digest: string): number | undefined;
  /** A read: known at once, written in the background (not async: a read waits for nothing). */
  touch(digest: string): void;
  /** A new blob: known at once and written before the promise settles. */
  touchAndPersist(digest: string): Promise<void>;
  forget(digest: string): Promise<void>;
  /**
   * Reads the digest's record again (another process sharing the storage may have written a
   * later access) and returns the later of it and what is known here; `now` when neither is.
   */
  reload(digest: string): Promise<number>;
  /** Drops what is known of a digest another process deleted; its record is that one's to remove. */
  drop(digest: string): void;
  flush(): Promise<void>;
}

export async function loadAccessTimes(
  metadata: MetadataStore,
  storedDigests: ReadonlySet<string>,
  persistIntervalMs: number,
  clock: Clock,
  logger: Logger,
): Promise<AccessTimes> {
  const lastAccess = new Map<string, number>();
  const persisted = new Map<string, number>();
  const keys: string[] = [];
  for await (const key of metadata.list(recordPrefix)) keys.push(key);
  // A few reads at a time: with S3 each record is one request.
  for (let index = 0; index < keys.length; index += 16) {
    await Promise.all(
      keys.slice(index, index + 16).map(async (key) => {
        const digest = key.slice(recordPrefix.length);
        if (!storedDigests.has(digest)) {
          await metadata.delete(key);
          return;
        }
        const value = Number(await metadata.get(key));
        if (Number.isFinite(value)) {
          lastAccess.set(digest, value);
          persisted.set(digest, value);
        }
      }),
    );
  }
  // A blob without a record (its writer crashed before writing one) counts as used now:
  // better to keep it one TTL too long than to evict it at once.
  const now = clock.now();
  for (const digest of storedDigests) {
    if (!lastAccess.has(digest)) lastAccess.set(digest, now);
  }

  /** Records being written now, so a read never waits for one and a digest is written once. */
  const writing = new Map<string, Promise<void>>();

  async function persist(digest: string, time: number): Promise<void> {
    try {
      await metadata.put(`${recordPrefix}${digest}`, String(time));
      persisted.set(digest, time);
    } catch (error) {
      // A lost access time only makes a blob look older; reads must not fail for it.
      logger.warn({ digest, error: String(error) }, "could not record the last access of a blob");
    }
  }

  return {
    get: (digest) => lastAccess.get(digest),
    async touchAndPersist(digest) {
      const now = clock.now();
      lastAccess.set(digest, now);
      await persist(digest, now);
    },
    touch(digest) {
      const now = clock.now();
      lastAccess.set(digest, now);
      const last = persisted.get(digest);
      if (writing.has(digest) || (last !== undefined && now - last < persistIntervalMs)) return;
      // A read does not wait for the record (a durable write): it is written in the background,
      // and `flush` waits for what is under way (docs/adr/0035-request-rate-cuts.md).
      const written = persist(digest, now).finally(() => writing.delete(digest));
      writing.set(digest, written);
    },
    async forget(digest) {
      // A record being written now would outlive the delete below.
      await writing.get(digest);
      lastAccess.delete(digest);
      persisted.delete(digest);
      try {
        await metadata.delete(`${recordPrefix}${digest}`);
      } catch (error) {
        // A record left behind is dropped at the next start (its blob is gone).
        logger.warn({ digest, error: String(error) }, "could not remove an access record");
      }
    },
    async reload(digest) {
      let recorded = Number.NaN;
      try {
        recorded = Number(await metadata.get(`${recordPrefix}${digest}`));
      } catch (error) {
        logger.warn({ digest, error: String(error) }, "could not read the last access of a blob");
      }
      const known = lastAccess.get(digest);
      const latest = Math.max(
        known ?? Number.NEGATIVE_INFINITY,
        Number.isFinite(recorded) ? recorded : Number.NEGATIVE_INFINITY,
      );
      // Neither here nor recorded: counts as used now, as at start-up.
      const time = Number.isFinite(latest) ? latest : clock.now();
      lastAccess.set(digest, time);
      if (Number.isFinite(recorded))
        persisted.set(digest, Math.max(recorded, persisted.get(digest) ?? 0));
      return time;
    },
    drop(digest) {
      lastAccess.delete(digest);
      persisted.delete(digest);
    },
    async flush() {
      await Promise.allSettled(writing.values());
      for (const [digest, time] of lastAccess) {
        if (persisted.get(digest) !== time) await persist(digest, time);
      }
    },
  };
}
