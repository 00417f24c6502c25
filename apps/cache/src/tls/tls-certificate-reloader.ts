/**
 * Keeps an HTTPS server's certificate current. Kubernetes mounts a secret as a directory of
 * symlinks into `..data`, and rotates it by swapping that symlink: a watch on the files
 * themselves would miss it, so the directories holding them are watched, and every change
 * re-reads both files. A pair that loads is applied with `server.setSecureContext()`: new
 * connections get it, open ones keep theirs. A broken pair (half-written, key and certificate
 * from different rotations) is logged and the previous one kept; a later change retries.
 * Polling every `pollIntervalMs` covers file systems where fs.watch does not report.
 */

import { createHash } from "node:crypto";
import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import type { Logger } from "@regmirror/core";

export interface TlsFiles {
  certificateFile: string;
  keyFile: string;
  minimumVersion: "TLSv1.2" | "TLSv1.3";
}

export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export interface TlsCertificateReloader {
  /** Re-reads the files now; true when a new pair was applied. */
  reload(): Promise<boolean>;
  close(): void;
}

/** Reads the pair and checks that the key belongs to the certificate. */
export async function loadTlsOptions(files: TlsFiles): Promise<SecureContextOptions> {
  const [cert, key] = await Promise.all([readFile(files.certificateFile), readFile(files.keyFile)]);
  const options: SecureContextOptions = { cert, key, minVersion: files.minimumVersion };
  createSecureContext(options); // throws on a key that does not match
  return options;
}

function fingerprint(options: SecureContextOptions): string {
  return createHash("sha256")
    .update(options.cert as Buffer)
    .update(options.key as Buffer)
    .digest("hex");
}

export function watchTlsCertificate(options: {
  files: TlsFiles;
  target: SecureContextTarget;
  /** The pair the server started with. */
  initial: SecureContextOptions;
  logger: Logger;
  pollIntervalMs?: number;
  debounceMs?: number;
}): TlsCertificateReloader {
  const { files, target, logger } = options;
  let current = fingerprint(options.initial);
  let timer: NodeJS.Timeout | undefined;
  let reloading: Promise<boolean> | undefined;

  async function reloadNow(): Promise<boolean> {
    let loaded: SecureContextOptions;
    try {
      loaded = await loadTlsOptions(files);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      logger.warn({ reason }, "TLS certificate or key cannot be loaded; keeping the previous pair");
      return false;
    }
    const next = fingerprint(loaded);
    if (next === current) return false;
    target.setSecureContext(loaded);
    current = next;
    logger.info({ certificateFile: files.certificateFile }, "TLS certificate reloaded");
    return true;
  }

  function reload(): Promise<boolean> {
    // One reload at a time; a change during a reload triggers another after it.
    const run = (reloading ?? Promise.resolve(false)).then(reloadNow);
    reloading = run;
    return run;
  }

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), options.debounceMs ?? 200);
  };

  const watchers: FSWatcher[] = [];
  for (const directory of new Set([dirname(files.certificateFile), dirname(files.keyFile)])) {
    try {
      const watcher = watch(directory, { persistent: false }, schedule);
      watcher.on("error", (error) =>
        logger.warn({ directory, reason: error.message }, "cannot watch the TLS directory"),
      );
      watchers.push(watcher);
    } catch (error) {
      logger.warn(
        { directory, reason: (error as Error).message },
        "cannot watch the TLS directory; relying on polling",
      );
    }
  }
  const poll = setInterval(() => void reload(), options.pollIntervalMs ?? 60_000);
  poll.unref();

  return {
    reload,
    close() {
      clearTimeout(timer);
      clearInterval(poll);
      for (const watcher of watchers) watcher.close();
    },
  };
}
