// Tests of reading containerd's config_path from its config.toml (v2 and v3).
import { describe, expect, it } from "vitest";
import { readContainerdRegistrySettings } from "./containerd-config.js";

const file = "/etc/containerd/config.toml";

describe("readContainerdRegistrySettings", () => {
  it("uses config_path of a version 2 config", () => {
    const text = [
      "version = 2",
      '[plugins."io.containerd.grpc.v1.cri".registry]',
      '  config_path = "/etc/containerd/certs.d:/etc/docker/certs.d"',
    ].join("\n");
    expect(readContainerdRegistrySettings(text, file)).toEqual({
      configVersion: 2,
      configPath: "/etc/containerd/certs.d:/etc/docker/certs.d",
      certsDirectory: "/etc/containerd/certs.d",
      warnings: [],
    });
  });

  it("uses config_path of a version 3 (containerd 2.x) config", () => {
    const text = [
      "version = 3",
      "[plugins.'io.containerd.cri.v1.images'.registry]",
      "  config_path = '/srv/certs.d/'",
    ].join("\n");
    expect(readContainerdRegistrySettings(text, file)).toMatchObject({
      configVersion: 3,
      certsDirectory: "/srv/certs.d",
      warnings: [],
    });
  });

  it("warns that hosts.toml is ignored when a version 2 config does not set config_path", () => {
    const text = [
      "version = 2",
      '[plugins."io.containerd.grpc.v1.cri".registry]',
      '  config_path = ""',
    ].join("\n");
    const settings = readContainerdRegistrySettings(text, file);
    expect(settings.certsDirectory).toBe("/etc/containerd/certs.d");
    expect(settings.warnings).toEqual([
      {
        code: "CONTAINERD_CONFIG_PATH_NOT_SET",
        message: expect.stringContaining("containerd ignores the hosts.toml files"),
      },
    ]);
    expect(settings.warnings[0]?.message).toContain(
      '[plugins."io.containerd.grpc.v1.cri".registry]',
    );
  });

  it("does not warn for a version 3 config without config_path (containerd 2.x defaults it)", () => {
    expect(readContainerdRegistrySettings("version = 3\n", file).warnings).toEqual([]);
  });

  it("reads the version 1 layout and reports a missing or broken file", () => {
    const v1 = '[plugins.cri.registry]\nconfig_path = "/opt/certs"\n';
    expect(readContainerdRegistrySettings(v1, file)).toMatchObject({
      configVersion: 1,
      certsDirectory: "/opt/certs",
    });
    expect(readContainerdRegistrySettings(undefined, file).warnings[0]?.code).toBe(
      "CONTAINERD_CONFIG_NOT_FOUND",
    );
    expect(readContainerdRegistrySettings("version = = 2", file).warnings[0]?.code).toBe(
      "CONTAINERD_CONFIG_UNREADABLE",
    );
    expect(
      readContainerdRegistrySettings(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\nconfig_path = "certs"\n',
        file,
      ).warnings[0]?.code,
    ).toBe("CONTAINERD_CONFIG_PATH_INVALID");
  });
});
