import { spawn } from "node:child_process";
import { capturingLogger } from "@regmirror/core/testing";
import { loadCacheConfigFromYaml } from "@regmirror/schemas";
import { eventually } from "@regmirror/test-kit";
import { expect, test } from "vitest";
import { createFirstWorker } from "./worker-processes.js";

test("a worker that exits before it listens (a stand-in process that exits at once) is not started again", async () => {
  const logger = capturingLogger();
  let started = 0;
  const first = createFirstWorker({
    config: loadCacheConfigFromYaml(
      "proxy: { remoteurl: https://registry.example.com }\nregmirror: { workers: 2 }\n",
    ),
    workers: 2,
    privateSocket: "/nonexistent/first.sock",
    tokenSecret: "token-key",
    startOther: () => {
      started += 1;
      // Stands in for a worker that cannot start (its start message unusable, say).
      return spawn(process.execPath, ["-e", "process.exit(1)"], {
        stdio: ["ignore", "ignore", "ignore", "ipc"],
      });
    },
    logger,
    shutdownGraceMs: 1000,
  });
  first.started(5000);
  await eventually(() => {
    expect(logger.entries.map((entry) => entry.message)).toContain(
      "a worker could not start: not starting it again",
    );
  }, 20_000);
  // The decision is made when it is logged: no restart was scheduled instead.
  expect(started).toBe(1);
  expect(logger.entries.find((entry) => entry.level === "error")?.fields).toMatchObject({
    worker: 1,
    code: 1,
  });
  await first.stopOthers();
});
