// Tests of the cache config rendered from a spec, parsed back by the cache's own loader.
import { loadCacheConfigFromYaml, parseRegistryMirrorSpec } from "@regmirror/schemas";
import { describe, expect, it } from "vitest";
import { renderCacheConfig } from "./render-cache-config.js";

describe("renderCacheConfig", () => {
  it("writes a file the cache accepts, routing the mirror's hosts to its upstream", () => {
    const spec = parseRegistryMirrorSpec({
      upstreamUrl: "hub.docker.io",
      credentialsSecret: "hub",
      upstreamCaBundle: { configMapName: "corporate-ca" },
      blobTtl: "36h",
    });
    const config = loadCacheConfigFromYaml(renderCacheConfig(spec));
    expect(config.upstreams).toHaveLength(1);
    // mirror-operator's hub.docker.io is Docker Hub, whose registry API is registry-1.docker.io.
    expect(config.upstreams[0]?.endpoints).toEqual(["https://registry-1.docker.io"]);
    expect(config.blobTtlMs).toBe(36 * 3_600_000);
    expect(config.storage).toMatchObject({
      kind: "filesystem",
      rootDirectory: "/var/lib/regmirror",
    });
  });

  it("routes the masquerade host to the upstream when nodes map it (mirror-operator's hostess)", () => {
    const spec = parseRegistryMirrorSpec({
      upstreamUrl: "hub.docker.io",
      masqueradeUrl: "local.docker.io",
    });
    const config = loadCacheConfigFromYaml(renderCacheConfig(spec));
    expect(config.upstreams[0]?.hosts).toEqual(
      expect.arrayContaining(["docker.io", "local.docker.io"]),
    );
  });

  it("caps the store at 90% of the volume unless maxSize says otherwise", () => {
    const fromVolume = parseRegistryMirrorSpec({
      upstreamUrl: "quay.io",
      volumeClaimTemplate: { spec: { resources: { requests: { storage: "10Gi" } } } },
    });
    expect(loadCacheConfigFromYaml(renderCacheConfig(fromVolume)).sizeCap?.maxBytes).toBe(
      Math.floor(10 * 2 ** 30 * 0.9),
    );
    const explicit = parseRegistryMirrorSpec({ upstreamUrl: "quay.io", maxSize: "1GiB" });
    expect(loadCacheConfigFromYaml(renderCacheConfig(explicit)).sizeCap?.maxBytes).toBe(2 ** 30);
  });

  it("stores in S3 with credentials from the environment, never in the file", () => {
    const spec = parseRegistryMirrorSpec({
      upstreamUrl: "ghcr.io",
      storage: {
        s3: {
          bucket: "b",
          region: "eu-west-1",
          credentials: { mode: "static", secretName: "keys" },
        },
      },
    });
    const text = renderCacheConfig(spec);
    expect(loadCacheConfigFromYaml(text).storage).toMatchObject({ kind: "s3", bucket: "b" });
    expect(text).toContain("mode: env");
  });

  it("gives the cache client auth: pass-through by default with credentials, none only when written", () => {
    const authOf = (spec: Record<string, unknown>) =>
      loadCacheConfigFromYaml(renderCacheConfig(parseRegistryMirrorSpec(spec))).auth;
    const upstreamUrl = "registry-1.docker.io";
    expect(authOf({ upstreamUrl, credentialsSecret: "hub" })).toMatchObject({
      mode: "pass-through",
    });
    expect(authOf({ upstreamUrl })).toEqual({ mode: "none" });
    expect(authOf({ upstreamUrl, credentialsSecret: "hub", clientAuth: { mode: "none" } })).toEqual(
      { mode: "none" },
    );
    expect(
      authOf({ upstreamUrl, clientAuth: { mode: "htpasswd", htpasswdSecret: "users" } }),
    ).toMatchObject({
      mode: "htpasswd",
      htpasswdFile: "/etc/regmirror/client-auth/htpasswd",
    });
  });
});
