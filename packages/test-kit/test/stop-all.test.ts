// stopAll: what a test started is stopped in order, even when set-up failed or one stop fails.
import { expect, test } from "vitest";
import { stopAll } from "../src/index.js";

test("stops in the order given, skips what never started, and throws the first failure after trying every part", async () => {
  const stopped: string[] = [];
  const part = (name: string, failure?: Error) => ({
    async stop() {
      stopped.push(name);
      if (failure) throw failure;
    },
  });
  const client = {
    async close() {
      stopped.push("client");
    },
  };
  const refused = new Error("proxy would not stop");

  const error = await stopAll(
    client,
    undefined,
    part("proxy", refused),
    part("registry", new Error("later failure")),
    part("cache"),
  ).catch((caught: unknown) => caught);

  expect(stopped).toEqual(["client", "proxy", "registry", "cache"]);
  expect(error).toBe(refused);
  await expect(stopAll(undefined, part("alone"))).resolves.toBeUndefined();
});
