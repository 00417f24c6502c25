// Watches the directory of the mounted state file (a ConfigMap volume swaps a symlink).
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";
import type { Logger } from "@regmirror/core";

export interface StateFileWatcherOptions {
  stateFile: string;
  /** Called (debounced) after the file may have changed, and on every resync tick. */
  onChange(reason: "watch" | "resync"): void;
  resyncIntervalMs: number;
  debounceMs?: number;
  logger: Logger;
}

export interface StateFileWatcher {
  close(): void;
}

/**
 * Watches the directory that holds the state file, not the file: Kubernetes updates a mounted
 * ConfigMap by swapping the `..data` symlink, so the file's own inode never changes. A periodic
 * resync covers events a watch can miss (network file systems, a directory created later).
 */
export function watchStateFile(options: StateFileWatcherOptions): StateFileWatcher {
  const directory = dirname(options.stateFile);
  const fileName = basename(options.stateFile);
  const debounceMs = options.debounceMs ?? 100;
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let closed = false;

  const schedule = () => {
    if (closed) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => options.onChange("watch"), debounceMs);
  };

  const startWatching = () => {
    if (watcher || closed) return;
    try {
      watcher = watch(directory, { persistent: false }, (_event, name) => {
        // ConfigMap swaps touch "..data" and "..<timestamp>" entries, not the file name itself.
        if (name === null || name === fileName || name.startsWith("..")) schedule();
      });
      watcher.on("error", (error) => {
        options.logger.warn(
          { directory, error: error.message },
          "state directory watch failed; relying on resync",
        );
        watcher?.close();
        watcher = undefined;
      });
    } catch (error) {
      options.logger.warn(
        { directory, error: (error as Error).message },
        "cannot watch the state directory yet; relying on resync",
      );
    }
  };

  startWatching();
  const resync = setInterval(() => {
    startWatching();
    options.onChange("resync");
  }, options.resyncIntervalMs);

  return {
    close() {
      closed = true;
      clearTimeout(debounce);
      clearInterval(resync);
      watcher?.close();
      watcher = undefined;
    },
  };
}
