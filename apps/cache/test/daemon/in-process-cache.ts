// The cache daemon in the test process (a real HTTP listener on 127.0.0.1), for tests that
// need to read its logs line by line and start several configurations quickly.
import { loadCacheConfigFromYaml } from "@regmirror/schemas";
import { freePort, retryOnAddressInUse } from "@regmirror/test-kit";
import {
  type CacheDaemon,
  type CacheDaemonOptions,
  createCacheDaemon,
} from "../../src/daemon/create-cache-daemon.js";
import { createRootLogger } from "../../src/logging/create-root-logger.js";
import { startOnFreePorts } from "./free-ports.js";

export interface InProcessCache {
  daemon: CacheDaemon;
  url: string;
  /** Everything logged so far, as written (JSON lines). */
  logText(): string;
  close(): Promise<void>;
}

export async function startInProcessCache(
  configYaml: string,
  options: Omit<CacheDaemonOptions, "config" | "logger"> = {},
): Promise<InProcessCache> {
  const config = loadCacheConfigFromYaml(configYaml, "test config");
  let logText = "";
  const logger = createRootLogger({
    level: "debug",
    destination: {
      write(text: string) {
        logText += text;
      },
    },
  });
  const daemon = await createCacheDaemon({ ...options, config, logger });
  const address = await daemon.listen().catch(async (error: unknown) => {
    await daemon.close().catch(() => undefined);
    throw error;
  });
  return { daemon, url: address.url, logText: () => logText, close: () => daemon.close() };
}

/**
 * For a configuration that names its own port (its token `host`, its own peer URL), so cannot
 * listen on port 0: on a port picked free just before, and again on a new one when another
 * process takes that port first.
 */
export function startInProcessCacheOnFreePort(
  configFor: (port: number) => string,
  options: Omit<CacheDaemonOptions, "config" | "logger"> = {},
): Promise<InProcessCache> {
  return retryOnAddressInUse("the in-process cache", async () =>
    startInProcessCache(configFor(await freePort()), options),
  );
}

/** Caches whose configurations name each other's ports (replicas listing their peers). */
export function startInProcessCachesOnFreePorts(
  portCount: number,
  configsFor: (ports: number[]) => string[],
  options: Omit<CacheDaemonOptions, "config" | "logger"> = {},
): Promise<InProcessCache[]> {
  return startOnFreePorts("the in-process caches", portCount, (ports) =>
    configsFor(ports).map((yaml) => startInProcessCache(yaml, options)),
  );
}
