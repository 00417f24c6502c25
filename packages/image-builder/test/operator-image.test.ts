// The regmirror-operator image under containerd: its commands answer, and its node agent — run
// as the DaemonSet runs it (root with CHOWN, DAC_OVERRIDE and FOWNER only, a read-only root, the
// node's directories mounted under /host, the desired state from a read-only volume) — writes a
// containerd hosts.toml and CA that a containerd on this machine then uses to pull an image over
// TLS through a running regmirror-cache container.
import { chmod, chown, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  buildTestImage,
  type CertificateAuthority,
  freePort,
  makeCertificateAuthority,
  makeTempDirectory,
  pushTestImage,
  type RunningContainer,
  removeTempDirectory,
  runContainer,
  type TestImage,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageDefinitions, nodePath, nonRootId } from "../src/index.js";
import { type ImageHost, startImageHost, startOnFreePort, waitForHttp200 } from "./image-host.js";
import { imagesUnderTest } from "./images-under-test.js";

const operatorMain = `${imageDefinitions["regmirror-operator"].installDirectory}/main.js`;
const mirrorName = "image-test-mirror";

let host: ImageHost;
let directory: string;
let authority: CertificateAuthority;
let upstreamImage: TestImage;
let cache: RunningContainer | undefined;
let cacheUrl: string;

/** Runs the operator image to completion; resolves with its exit code and output. */
async function runOperator(
  id: string,
  args?: string[],
): Promise<{ code: number | null | undefined; output: string }> {
  const container = await runContainer(host.containerd, {
    image: host.references["regmirror-operator"] as string,
    id,
    readOnlyRootFilesystem: true,
    ...(args ? { args: [nodePath, operatorMain, ...args] } : {}),
  });
  const code = await container.exited;
  return { code, output: container.output() };
}

/** A file the unprivileged cache user can read (Kubernetes gives Secrets that through fsGroup). */
async function writeCacheFile(path: string, content: string): Promise<void> {
  await writeFile(path, content);
  await chown(path, nonRootId, nonRootId);
  await chmod(path, 0o400);
}

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-operator-image-");
  [host, authority, upstreamImage] = await Promise.all([
    startImageHost(["regmirror-operator", "regmirror-cache"]),
    makeCertificateAuthority({ commonName: "operator image test CA" }),
    buildTestImage({ seed: "operator-image", layers: [4096, 70_000], tag: "v1" }),
  ]);
  await pushTestImage(upstreamImage, host.registry, "team/app");

  // The cache over TLS with a certificate for 127.0.0.1, an upstream for the registry's host.
  const certificate = await authority.issueServerCertificate(["127.0.0.1"]);
  await mkdir(join(directory, "cache-config"));
  await writeCacheFile(join(directory, "cache-config", "cache.crt"), certificate.certificatePem);
  await writeCacheFile(join(directory, "cache-config", "cache.key"), certificate.keyPem);
  await mkdir(join(directory, "cache-store"));
  await chown(join(directory, "cache-store"), nonRootId, nonRootId);
  [cache, cacheUrl] = await startOnFreePort("the cache container", async (port) => {
    await writeCacheFile(
      join(directory, "cache-config", "config.yml"),
      [
        "version: 0.1",
        "http:",
        `  addr: 127.0.0.1:${port}`,
        "  tls:",
        "    certificate: /etc/regmirror/cache.crt",
        "    key: /etc/regmirror/cache.key",
        "regmirror:",
        "  upstreams:",
        "    - name: test-registry",
        `      hosts: ["${host.registry.host}"]`,
        `      endpoints: ["${host.registry.url}"]`,
        "  storage:",
        "    filesystem:",
        "      rootDirectory: /var/lib/registry",
        "",
      ].join("\n"),
    );
    const container = await runContainer(host.containerd, {
      image: host.references["regmirror-cache"] as string,
      id: "operator-test-cache",
      readOnlyRootFilesystem: true,
      hostNetwork: true,
      args: [nodePath, "/opt/regmirror-cache/main.js", "serve", "/etc/regmirror/config.yml"],
      mounts: [
        { source: join(directory, "cache-config"), destination: "/etc/regmirror", readOnly: true },
        { source: join(directory, "cache-store"), destination: "/var/lib/registry" },
      ],
    });
    const url = `https://127.0.0.1:${port}`;
    await waitForHttp200(
      "the cache container",
      `${url}/readyz`,
      container,
      authority.certificatePem,
    );
    return [container, url] as const;
  });
  // Pushing both images (both platforms), pulling them and starting one: minutes on a busy machine.
}, 300_000);

afterAll(async () => {
  await cache?.stop();
  await host?.stop();
  if (directory) await removeTempDirectory(directory);
});

describe("the regmirror-operator image under containerd", () => {
  it("prints its commands by default, and its version with --version", async () => {
    const help = await runOperator("operator-help");
    expect(help.code).toBe(0);
    expect(help.output).toContain("Usage: regmirror-operator <command>");
    expect(help.output).toContain("node-agent");

    const { source } = await imagesUnderTest();
    const version = await runOperator("operator-version", ["--version"]);
    expect(version.code).toBe(0);
    expect(version.output.trim()).toBe(`regmirror-operator ${source.version} (Node 26.10.0)`);
  }, 180_000);

  it("its node agent, as root over /host, writes hosts.toml and the CA; containerd then pulls through the cache container over TLS", async () => {
    const nodeRoot = join(directory, "node");
    const certsDirectory = join(nodeRoot, "etc/containerd/certs.d");
    await mkdir(certsDirectory, { recursive: true });
    await mkdir(join(nodeRoot, "var/lib/regmirror"), { recursive: true });
    await writeFile(
      join(nodeRoot, "etc/containerd/config.toml"),
      'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n',
    );
    // The registry's host goes through the mirror; its fallback `server` refuses connections, so
    // the pull can only succeed through the cache.
    const closedPort = await freePort();
    const stateDirectory = join(directory, "node-state");
    await mkdir(stateDirectory);
    await writeFile(
      join(stateDirectory, "node-state.json"),
      JSON.stringify({
        runtimes: ["containerd"],
        mirrors: [
          {
            name: mirrorName,
            endpoint: cacheUrl,
            registries: [{ host: host.registry.host, server: `http://127.0.0.1:${closedPort}` }],
            caPem: authority.certificatePem,
            dialTimeout: "1s",
          },
        ],
      }),
    );
    const agent = await startOnFreePort("the node agent", async (agentPort) => {
      const container = await runContainer(host.containerd, {
        image: host.references["regmirror-operator"] as string,
        id: "node-agent",
        user: { uid: 0, gid: 0, capabilities: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"] },
        readOnlyRootFilesystem: true,
        hostNetwork: true,
        env: ["PATH=/usr/local/bin", "NODE_ENV=production"],
        args: [
          nodePath,
          operatorMain,
          "node-agent",
          "--state-file",
          "/etc/regmirror/node-state/node-state.json",
          "--root",
          "/host",
          "--instance",
          mirrorName,
          "--listen",
          `127.0.0.1:${agentPort}`,
        ],
        mounts: [
          { source: stateDirectory, destination: "/etc/regmirror/node-state", readOnly: true },
          { source: join(nodeRoot, "etc/containerd"), destination: "/host/etc/containerd" },
          { source: join(nodeRoot, "var/lib/regmirror"), destination: "/host/var/lib/regmirror" },
        ],
      });
      // Ready once the state is applied without conflict.
      await waitForHttp200("the node agent", `http://127.0.0.1:${agentPort}/readyz`, container);
      return container;
    });
    try {
      const hostsToml = join(certsDirectory, host.registry.host, "hosts.toml");
      expect(await readFile(hostsToml, "utf8")).toContain(`[host."${cacheUrl}"]`);
      expect((await stat(hostsToml)).uid).toBe(0);

      const reference = `${host.registry.host}/team/app:v1`;
      await host.containerd.pull(reference, { hostsDir: certsDirectory });
      const pulled = (await host.containerd.listImages()).find((image) => image.name === reference);
      expect(pulled?.digest).toBe(upstreamImage.digest);
      // The cache served it: its access log has the largest layer.
      const largest = upstreamImage.manifests[0]?.layerDigests[1] as string;
      expect(cache?.output()).toContain(largest);
    } finally {
      await agent.stop();
    }
    expect(agent.exitCode()).toBe(0);
  }, 300_000);
});
