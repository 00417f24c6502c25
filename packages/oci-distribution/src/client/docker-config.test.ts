// Tests of reading credentials from a Docker config.json.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDirectory, removeTempDirectory } from "@regmirror/test-kit";
import { describe, expect, it, onTestFinished } from "vitest";
import { RegistryClientError } from "./client-errors.js";
import {
  dockerConfigCredentials,
  normalizeRegistryKey,
  readDockerConfig,
} from "./docker-config.js";

const auth = (user: string, password: string) =>
  Buffer.from(`${user}:${password}`).toString("base64");

describe("dockerConfigCredentials", () => {
  it("decodes base64 `auth` and matches the Docker Hub aliases", () => {
    const config = { auths: { "https://index.docker.io/v1/": { auth: auth("hub-user", "p:w") } } };
    for (const host of ["docker.io", "registry-1.docker.io", "index.docker.io"]) {
      expect(dockerConfigCredentials(config, host)).toEqual({
        username: "hub-user",
        password: "p:w",
      });
    }
    expect(dockerConfigCredentials(config, "ghcr.io")).toBeUndefined();
  });

  it("takes username/password entries and keys written as URLs", () => {
    const config = { auths: { "http://127.0.0.1:5000/v2/": { username: "u", password: "p" } } };
    expect(dockerConfigCredentials(config, "127.0.0.1:5000")).toEqual({
      username: "u",
      password: "p",
    });
  });

  it("names the credential helper it cannot run", () => {
    const helpers = {
      credHelpers: { "ghcr.io": "gcloud" },
      auths: { "ghcr.io": { auth: auth("a", "b") } },
    };
    expect(() => dockerConfigCredentials(helpers, "ghcr.io")).toThrow(
      /docker-credential-gcloud.*credHelpers/,
    );
    const store = { credsStore: "desktop", auths: { "quay.io": {} } };
    try {
      dockerConfigCredentials(store, "quay.io");
      expect.unreachable();
    } catch (error) {
      expect(RegistryClientError.isInstance(error) && error.code).toBe(
        "CREDENTIAL_HELPER_UNSUPPORTED",
      );
      expect((error as Error).message).toContain("docker-credential-desktop");
    }
    // An inline entry still wins over the store.
    const mixed = { credsStore: "desktop", auths: { "quay.io": { auth: auth("q", "r") } } };
    expect(dockerConfigCredentials(mixed, "quay.io")).toEqual({ username: "q", password: "r" });
  });

  it("refuses a broken auth value without quoting it", () => {
    const config = {
      auths: { "reg.example": { auth: Buffer.from("no-colon-secret").toString("base64") } },
    };
    expect(() => dockerConfigCredentials(config, "reg.example")).toThrow(
      /not base64 of "username:password"/,
    );
    expect(() => dockerConfigCredentials(config, "reg.example")).not.toThrow(/secret/);
  });

  it("normalizes keys", () => {
    expect(normalizeRegistryKey("HTTPS://Registry-1.Docker.io/v2/")).toBe("docker.io");
    expect(normalizeRegistryKey("reg.example:5000")).toBe("reg.example:5000");
  });
});

describe("readDockerConfig", () => {
  it("reads a file and explains a missing or broken one", async () => {
    const directory = makeTempDirectory("regmirror-docker-config-");
    onTestFinished(() => removeTempDirectory(directory));
    const good = join(directory, "config.json");
    await writeFile(good, JSON.stringify({ auths: { "r.example": { auth: auth("a", "b") } } }));
    expect(dockerConfigCredentials(await readDockerConfig(good), "r.example")).toEqual({
      username: "a",
      password: "b",
    });
    await expect(readDockerConfig(join(directory, "missing.json"))).rejects.toThrow(/ENOENT/);
    const broken = join(directory, "broken.json");
    await writeFile(broken, "{ secret");
    await expect(readDockerConfig(broken)).rejects.toThrow(/is not JSON/);
    await expect(readDockerConfig(broken)).rejects.not.toThrow(/secret/);
  });
});
