/**
 * A complete registry in a few lines: the server handler over the memory or filesystem storage,
 * listening on loopback. Used by the tests, and the README's example of embedding a registry.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@regmirror/core";
import { createFilesystemStorage } from "../server/filesystem-storage.js";
import { createRegistryHandler } from "../server/registry-handler.js";
import type { RegistryStorage } from "../server/registry-storage.js";
import type { RegistryLimits } from "../server/server-limits.js";
import { createMemoryStorage } from "./memory-storage.js";

export interface ExampleRegistryOptions {
  /** Keep content in this directory; in memory when absent. */
  rootDirectory?: string;
  /** Use this storage instead (rootDirectory is then ignored). */
  storage?: RegistryStorage;
  readOnly?: boolean;
  /** 127.0.0.1 unless given. */
  host?: string;
  /** A free port unless given. */
  port?: number;
  logger?: Logger;
  limits?: Partial<RegistryLimits>;
}

export interface ExampleRegistry {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, for image references. */
  host: string;
  storage: RegistryStorage;
  server: Server;
  close(): Promise<void>;
}

export async function createExampleRegistry(
  options: ExampleRegistryOptions = {},
): Promise<ExampleRegistry> {
  const storage =
    options.storage ??
    (options.rootDirectory === undefined
      ? createMemoryStorage({ readOnly: options.readOnly })
      : createFilesystemStorage({
          rootDirectory: options.rootDirectory,
          readOnly: options.readOnly,
        }));
  const handler = createRegistryHandler({
    storage,
    logger: options.logger,
    limits: options.limits,
  });
  const server = createServer((request, response) => {
    void handler(request, response);
  });
  const listenHost = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, listenHost, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = `${listenHost.includes(":") ? `[${listenHost}]` : listenHost}:${port}`;
  return {
    url: `http://${host}`,
    host,
    storage,
    server,
    async close() {
      await handler.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
