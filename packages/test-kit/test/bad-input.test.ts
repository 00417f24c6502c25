import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  freePort,
  liveProcessCount,
  startContainerd,
  startDnsServer,
  startTrackedProcess,
  startUpstreamRegistry,
  toolPath,
  waitUntilReady,
} from "../src/index.js";

/** Runs `action` with PATH pointing nowhere, so no binary can be found. */
async function withEmptyPath<T>(action: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = "/nonexistent-regmirror-bin";
  try {
    return await action();
  } finally {
    process.env.PATH = saved;
  }
}

describe("bad input to the kit", () => {
  let occupied: Server;
  let occupiedPort: number;
  beforeAll(async () => {
    occupiedPort = await freePort();
    occupied = createServer();
    await new Promise<void>((resolve) => occupied.listen(occupiedPort, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => occupied.close(() => resolve()));
  });

  it("names a DNS record that is not an IP address, or a name without a domain", async () => {
    await expect(
      startDnsServer({ domain: "peers.test", records: { "a.peers.test": ["10.0.0.300"] } }),
    ).rejects.toMatchObject({
      code: "BAD_INPUT",
      message: "10.0.0.300 (for a.peers.test) is not an IP address",
    });
    await expect(
      startDnsServer({ domain: "peers.test", records: { replica: ["10.0.0.3"] } }),
    ).rejects.toMatchObject({
      code: "BAD_INPUT",
      message: "DNS name replica needs a domain, like replica.test",
    });
  });

  it("names the port and what to change when the registry port is in use", async () => {
    const error = await startUpstreamRegistry({ port: occupiedPort }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: "PORT_IN_USE" });
    expect(String((error as Error).message)).toContain(
      `127.0.0.1:${occupiedPort} is already in use`,
    );
    expect(String((error as Error).message)).toContain("leave the port out");
    expect(liveProcessCount()).toBe(0);
  });

  it("says which package to install when docker-registry is missing", async () => {
    const error = await withEmptyPath(() => startUpstreamRegistry()).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({
      code: "BINARY_MISSING",
      message: "docker-registry not found on PATH: apt-get install docker-registry",
    });
  });

  it("says which package to install when ctr is missing", async () => {
    const error = await withEmptyPath(() => startContainerd()).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "BINARY_MISSING",
      message: "ctr not found on PATH: apt-get install containerd",
    });
  });

  it("names the tool and the file when a Go tool is not listed", () => {
    expect(() => toolPath("no-such-tool")).toThrow(
      /"no-such-tool" is not listed in .*scripts\/go-tools\.json/,
    );
  });

  it("finds a command under the go-tools.json entry that builds it (kubelet in kubernetes-VERSION)", () => {
    let pathOrError: string;
    try {
      pathOrError = toolPath("kubelet");
    } catch (error) {
      // Not built yet: the error names the path it looked for.
      pathOrError = (error as Error).message;
    }
    expect(pathOrError).toMatch(/tools\/kubernetes-v\d+\.\d+\.\d+\/bin\/kubelet\b/);
  });

  it("reports a process's own error output when it dies before it is ready", async () => {
    const registry = startTrackedProcess({
      name: "docker-registry",
      command: "docker-registry",
      args: ["serve", "/nonexistent-regmirror-config.yml"],
    });
    const error = await waitUntilReady("docker-registry", async () => false, {
      process: registry,
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "PROCESS_EXITED" });
    expect(String((error as Error).message)).toContain("/nonexistent-regmirror-config.yml");
    await registry.stop();
  });
});
