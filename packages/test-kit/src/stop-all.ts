// Stopping what a test started, in order, even when its set-up failed half-way.
import { removeTempDirectory } from "./temp-directory.js";

/** Anything a test starts: the kit's servers (`stop`), in-process caches and clients (`close`). */
export type Stoppable = { stop(): Promise<unknown> } | { close(): Promise<unknown> };

/**
 * Stops each of `parts` in the order given (a client before the server it talks to) and removes
 * the temp directories among them (a string is one, from `makeTempDirectory`), skipping those
 * never started (undefined or "" after a failed beforeAll). One that fails to stop does not keep
 * the others running: the first error is thrown once all were tried.
 */
export async function stopAll(...parts: (Stoppable | string | undefined)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const part of parts) {
    try {
      if (part === undefined || part === "") continue;
      if (typeof part === "string") await removeTempDirectory(part);
      else await ("stop" in part ? part.stop() : part.close());
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors[0];
}
