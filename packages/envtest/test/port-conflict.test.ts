// A server whose free port is taken before it binds starts again on a new one; any other failure stops at once.
import { createServer, type Server } from "node:net";
import { capturingLogger } from "@regmirror/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess, waitUntilReady } from "../src/child-process.js";
import { EnvtestError } from "../src/errors.js";
import { freePort, probe } from "../src/loopback.js";
import { isAddressInUse, retryOnAddressInUse } from "../src/port-conflict.js";

/** A real server process: Node answering HTTP on `port`, or exiting with its own EADDRINUSE. */
async function startNodeServer(port: number) {
  const server = startServerProcess({
    name: "node http server",
    command: process.execPath,
    args: [
      "-e",
      `require("node:http").createServer((q, s) => s.end("up")).listen(${port}, "127.0.0.1")`,
    ],
  });
  try {
    await waitUntilReady(
      `node on ${port}`,
      async () => (await probe(`http://127.0.0.1:${port}/`)).body === "up",
      { process: server },
    );
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { port, server };
}

describe("retryOnAddressInUse (fault injected: the first port handed out is one the test holds)", () => {
  let occupied: Server;
  let occupiedPort: number;
  beforeAll(async () => {
    occupied = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => occupied.listen(0, "127.0.0.1", resolve));
    occupiedPort = (occupied.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => occupied.close(() => resolve()));
  });

  it("starts the server again on a new port and logs the conflict it met", async () => {
    const ports = [occupiedPort];
    const logger = capturingLogger();
    const started = await retryOnAddressInUse(
      "node http server",
      async () => startNodeServer(ports.shift() ?? (await freePort())),
      { logger },
    );
    try {
      expect(started.port).not.toBe(occupiedPort);
      expect((await probe(`http://127.0.0.1:${started.port}/`)).body).toBe("up");
      expect(logger.entries).toHaveLength(1);
      expect(logger.entries[0]).toMatchObject({
        level: "warn",
        fields: { server: "node http server", attempt: 1, attempts: 4 },
      });
      expect(String(logger.entries[0]?.fields.error)).toContain(
        `address already in use 127.0.0.1:${occupiedPort}`,
      );
    } finally {
      await started.server.stop();
    }
  });

  it("gives up after the attempts it was given, with the server's own error", async () => {
    const logger = capturingLogger();
    const error = await retryOnAddressInUse(
      "node http server",
      () => startNodeServer(occupiedPort),
      { attempts: 2, logger },
    ).catch((caught: unknown) => caught);
    expect(EnvtestError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "PROCESS_EXITED" });
    expect(isAddressInUse(error)).toBe(true);
    expect(logger.entries).toHaveLength(1);
  });

  it("does not retry a failure that is not a port conflict", async () => {
    let starts = 0;
    const error = await retryOnAddressInUse("broken server", async () => {
      starts += 1;
      throw new EnvtestError("PROCESS_EXITED", "broken server exited with code 2: bad flag");
    }).catch((caught: unknown) => caught);
    expect(starts).toBe(1);
    expect(error).toMatchObject({ message: "broken server exited with code 2: bad flag" });
  });
});
