import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveBinaries } from "../src/binaries.js";
import { EnvtestError } from "../src/errors.js";
import { startKubeApiServer } from "../src/start-kube-api-server.js";

const directory = mkdtempSync(join(tmpdir(), "envtest-binaries-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function file(name: string, executable: boolean): string {
  const path = join(directory, name);
  writeFileSync(path, "#!/bin/sh\n");
  chmodSync(path, executable ? 0o755 : 0o644);
  return path;
}

describe("resolveBinaries: options, then TEST_ASSET_*, then KUBEBUILDER_ASSETS", () => {
  const assets = join(directory, "assets");
  const etcdInAssets = join(assets, "etcd");
  const apiServerInAssets = join(assets, "kube-apiserver");

  it("takes KUBEBUILDER_ASSETS/etcd and /kube-apiserver (setup-envtest's directory layout)", () => {
    mkdirSync(assets);
    writeFileSync(etcdInAssets, "#!/bin/sh\n", { mode: 0o755 });
    writeFileSync(apiServerInAssets, "#!/bin/sh\n", { mode: 0o755 });
    expect(resolveBinaries({}, { KUBEBUILDER_ASSETS: assets })).toEqual({
      etcd: etcdInAssets,
      kubeApiServer: apiServerInAssets,
    });
  });

  it("prefers an option over TEST_ASSET_* and TEST_ASSET_* over KUBEBUILDER_ASSETS", () => {
    const etcd = file("my-etcd", true);
    const apiServer = file("my-kube-apiserver", true);
    const env = { KUBEBUILDER_ASSETS: assets, TEST_ASSET_KUBE_APISERVER: apiServer };
    expect(resolveBinaries({ etcd }, env)).toEqual({ etcd, kubeApiServer: apiServer });
  });

  it("names every place it looked and how to fix it when a binary is missing", () => {
    const notExecutable = file("etcd-not-executable", false);
    const error = (() => {
      try {
        resolveBinaries({ etcd: notExecutable }, {});
      } catch (caught) {
        return caught;
      }
    })();
    expect(EnvtestError.isInstance(error) && error.code).toBe("BINARY_NOT_FOUND");
    const message = (error as Error).message;
    expect(message).toContain(`binaries.etcd: ${notExecutable} is not an executable file`);
    expect(message).toContain("set TEST_ASSET_ETCD to its path");
    expect(message).toContain("KUBEBUILDER_ASSETS");
  });

  it("startKubeApiServer refuses before starting anything when a binary is missing", async () => {
    await expect(startKubeApiServer({ env: {} })).rejects.toMatchObject({
      code: "BINARY_NOT_FOUND",
    });
    await expect(startKubeApiServer({ env: {}, timeoutMs: 0 })).rejects.toMatchObject({
      code: "INVALID_OPTIONS",
    });
  });
});
