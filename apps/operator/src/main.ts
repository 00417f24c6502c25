#!/usr/bin/env node
// The regmirror-operator binary. The only module that touches the process: environment,
// signals, stdout/stderr and listening sockets; everything else receives them from here.
import { createServer } from "node:http";
import { createServer as createTlsServer, Server as TlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { homedir } from "node:os";
import { pino } from "pino";
import { runCli } from "./cli.js";
import type { CliRuntime } from "./cli-runtime.js";

const rootLogger = pino({
  level: process.env.LOG_LEVEL ?? "info",
  base: { pid: process.pid },
  // Desired states carry client keys; none of these may ever be logged.
  redact: ["*.clientKeyPem", "*.password", "*.authorization", "*.token"],
});

const runtime: CliRuntime = {
  environment: process.env,
  homeDirectory: homedir() || undefined,
  writeOut: (text) => process.stdout.write(text),
  writeError: (text) => process.stderr.write(text),
  createLogger: (name) => rootLogger.child({ name }),
  listen: (handler, { host, port }, tls) =>
    new Promise((resolve, reject) => {
      const server = tls ? createTlsServer(tls, handler) : createServer(handler);
      server.once("error", reject);
      server.listen(port, host, () => {
        const bound = server.address() as AddressInfo;
        const shownHost = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
        resolve({
          address: `${shownHost}:${bound.port}`,
          reloadTls: (next) => {
            if (server instanceof TlsServer) server.setSecureContext(next);
          },
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              server.closeAllConnections();
            }),
        });
      });
    }),
  shutdownSignal: new Promise((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const)
      process.once(signal, () => resolve(signal));
  }),
};

try {
  process.exitCode = await runCli(process.argv.slice(2), runtime);
} catch (error) {
  rootLogger.fatal(
    { error: (error as Error).message, stack: (error as Error).stack },
    "regmirror-operator failed",
  );
  process.exitCode = 1;
}
