// Tests of the CRI-O registries.conf.d drop-in.
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { standardNodeFileLayout } from "../test/node-file-layout.js";
import { parseNodeTrustState } from "./node-state.js";
import { planNodeFiles } from "./plan-node-files.js";

const layout = standardNodeFileLayout;

describe("renderCrioRegistriesConf (through planNodeFiles)", () => {
  it("writes one [[registry]] per registry host with its mirrors in order, pulling from them always", () => {
    const state = parseNodeTrustState({
      runtimes: ["crio"],
      mirrors: [
        {
          name: "a",
          endpoint: "https://cache-a.example:5000/v2/docker.io",
          registries: [{ host: "docker.io" }, { host: "ghcr.io" }],
        },
        {
          name: "b",
          endpoint: "http://cache-b.example",
          registries: [{ host: "docker.io" }],
        },
        {
          name: "c",
          endpoint: "https://cache-c.example",
          registries: [{ host: "own.registry:5000", server: "http://10.1.2.3:5000" }],
          skipVerify: true,
        },
      ],
    });
    const files = planNodeFiles(state, layout).files;
    expect(files.map((file) => file.path)).toEqual([
      "/etc/containers/registries.conf.d/50-regmirror.conf",
    ]);
    const text = files[0]?.content ?? "";
    expect(text.startsWith("# Written by regmirror node-trust")).toBe(true);
    expect(parse(text)).toEqual({
      registry: [
        {
          prefix: "docker.io",
          location: "docker.io",
          mirror: [
            { location: "cache-a.example:5000/docker.io", "pull-from-mirror": "all" },
            { location: "cache-b.example", "pull-from-mirror": "all", insecure: true },
          ],
        },
        {
          prefix: "ghcr.io",
          location: "ghcr.io",
          mirror: [{ location: "cache-a.example:5000/docker.io", "pull-from-mirror": "all" }],
        },
        {
          prefix: "own.registry:5000",
          location: "10.1.2.3:5000",
          insecure: true,
          mirror: [{ location: "cache-c.example", "pull-from-mirror": "all", insecure: true }],
        },
      ],
    });
  });
});
