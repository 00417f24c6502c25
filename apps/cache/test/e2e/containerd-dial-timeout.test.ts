// Issue 6's "With the mirror down, containerd falls back to the upstream `server` within the
// configured dial timeout", with a mirror whose TCP connect HANGS (a refused connection falls
// back at once whatever the timeout; see node-trust-containerd.test.ts). containerd 1.6
// ignores `dial_timeout`, so this file runs containerd 2 (built by the test command).
//
// The hanging mirror: a loopback port held by a listener of ours, with an iptables rule that
// drops the SYNs sent to that one port, so `connect` neither succeeds nor is refused. The
// upstream docker-registry is reachable only through a counting fault proxy (pass mode), the
// `server` of the hosts.toml node-trust renders; its counts show what the upstream served.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server, Socket } from "node:net";
import { join } from "node:path";
import { createNodeTrustApplier } from "@regmirror/node-trust";
import {
  buildTestImage,
  type Containerd,
  type FaultProxy,
  listenOnLoopback,
  makeTempDirectory,
  pushTestImage,
  removeTempDirectory,
  runCommand,
  startContainerd,
  startFaultProxy,
  startUpstreamRegistry,
  type TestImage,
  TestKitError,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const repository = "e2e/dial-timeout";
/** How long the control pull may try: well under containerd's default 30 s dial timeout. */
const controlBoundMs = 20_000;

let directory: string;
let upstream: UpstreamRegistry | undefined;
let upstreamRoute: FaultProxy | undefined;
let containerd: Containerd | undefined;
let portHolder: Server | undefined;
let dropRule: string[] | undefined;
let mirrorPort: number;
let viaFallback: TestImage;
let forControl: TestImage;
/** The hosts.toml node-trust wrote (with dial_timeout), and the same minus that line. */
let hostsDirectory: string;
let hostsDirectoryWithoutDialTimeout: string;
let renderedHostsToml: string;

/** `iptables -I` / `-D` arguments for the rule that drops SYNs to the mirror's port only. */
function dropSynRule(port: number): string[] {
  return [
    "OUTPUT",
    ...["-o", "lo", "-p", "tcp", "-d", "127.0.0.1", "--dport", String(port), "--syn"],
    ...["-m", "comment", "--comment", `regmirror-e2e-hanging-mirror-${process.pid}`],
    ...["-j", "DROP"],
  ];
}

/** What a plain TCP connect to the port does within `ms`: connected, refused, or nothing. */
async function connectOutcome(port: number, ms: number): Promise<string> {
  const socket = new Socket();
  try {
    return await new Promise<string>((resolve) => {
      socket.setTimeout(ms, () => resolve("no answer"));
      socket.once("connect", () => resolve("connected"));
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
      socket.connect(port, "127.0.0.1");
    });
  } finally {
    socket.destroy();
  }
}

function blobDigestsOf(image: TestImage): string[] {
  return image.manifests.flatMap((manifest) => [manifest.configDigest, ...manifest.layerDigests]);
}

async function listedDigest(reference: string): Promise<string | undefined> {
  return (await containerd?.listImages())?.find((image) => image.name === reference)?.digest;
}

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-e2e-dial-timeout-");
  [upstream, viaFallback, forControl] = await Promise.all([
    startUpstreamRegistry(),
    buildTestImage({ seed: "e2e-dial-timeout-fallback", layers: [3072], tag: "v1" }),
    buildTestImage({ seed: "e2e-dial-timeout-control", layers: [2048], tag: "v2" }),
  ]);
  await pushTestImage(viaFallback, upstream, repository);
  await pushTestImage(forControl, upstream, repository);
  upstreamRoute = await startFaultProxy({ target: upstream.url });

  // Hold the port so nothing else takes it while its SYNs are dropped.
  const holder = createServer((socket) => socket.destroy());
  mirrorPort = await listenOnLoopback(holder);
  portHolder = holder;
  const rule = dropSynRule(mirrorPort);
  await runCommand("iptables", ["-I", ...rule]);
  dropRule = rule;

  // A containerd 2 node: CRI's config_path (config version 3) names the certs.d directory.
  const root = join(directory, "node-root");
  await mkdir(join(root, "etc/containerd"), { recursive: true });
  await writeFile(
    join(root, "etc/containerd/config.toml"),
    "version = 3\n[plugins.'io.containerd.cri.v1.images'.registry]\n  config_path = \"/etc/containerd/certs.d\"\n",
  );
  const result = await createNodeTrustApplier({ root }).apply({
    runtimes: ["containerd"],
    mirrors: [
      {
        name: "hanging-mirror",
        endpoint: `http://127.0.0.1:${mirrorPort}`,
        registries: [{ host: upstream.host, server: upstreamRoute.url }],
        dialTimeout: "1s",
      },
    ],
  });
  expect(result.status).toBe("changed");
  expect(result.warnings).toEqual([]);
  hostsDirectory = join(root, "etc/containerd/certs.d");
  renderedHostsToml = await readFile(join(hostsDirectory, upstream.host, "hosts.toml"), "utf8");
  hostsDirectoryWithoutDialTimeout = join(directory, "certs.d-without-dial-timeout");
  await runCommand("cp", ["-a", hostsDirectory, hostsDirectoryWithoutDialTimeout]);
  await writeFile(
    join(hostsDirectoryWithoutDialTimeout, upstream.host, "hosts.toml"),
    renderedHostsToml.replace(/^\s*dial_timeout = .*\n/m, ""),
  );

  containerd = await startContainerd({ release: "2" });
});

afterAll(async () => {
  // containerd first: a pull the control abandoned may still be dialling the mirror.
  await containerd?.stop();
  if (dropRule) await runCommand("iptables", ["-D", ...dropRule]);
  await new Promise<void>((resolve) =>
    portHolder ? portHolder.close(() => resolve()) : resolve(),
  );
  await upstreamRoute?.stop();
  await upstream?.stop();
  if (directory) await removeTempDirectory(directory);
});

describe("containerd 2 with a mirror whose TCP connect hangs (SYNs dropped)", () => {
  test("the mirror's port neither accepts nor refuses a TCP connection", async () => {
    expect(await connectOutcome(mirrorPort, 2_000)).toBe("no answer");
  });

  test("with node-trust's dial_timeout = 1s, ctr pull gives up on the mirror and pulls the image from the upstream server", async () => {
    if (!upstream || !upstreamRoute || !containerd) throw new Error("setup failed");
    expect(containerd.version).toMatch(/^2\./);
    expect(renderedHostsToml).toContain(`server = "${upstreamRoute.url}"`);
    expect(renderedHostsToml).toContain(`[host."http://127.0.0.1:${mirrorPort}"]`);
    expect(renderedHostsToml).toMatch(/^\s*dial_timeout = "1s"$/m);
    upstreamRoute.resetCounts();

    const reference = `${upstream.host}/${repository}:v1`;
    await containerd.pull(reference, { hostsDir: hostsDirectory });
    expect(await listedDigest(reference)).toBe(viaFallback.digest);
    // The upstream served it: the manifest and every blob went through its route.
    expect(upstreamRoute.requestCount(/\/manifests\/v1(\?|$)/)).toBeGreaterThan(0);
    for (const digest of blobDigestsOf(viaFallback)) {
      expect(upstreamRoute.requestCount(new RegExp(`/blobs/${digest}(\\?|$)`))).toBeGreaterThan(0);
    }
  });

  test(`control: the same hosts.toml without dial_timeout leaves ctr pull stuck on the mirror (not done after ${controlBoundMs / 1000} s, upstream never asked)`, async () => {
    if (!upstream || !upstreamRoute || !containerd) throw new Error("setup failed");
    const controlHostsToml = await readFile(
      join(hostsDirectoryWithoutDialTimeout, upstream.host, "hosts.toml"),
      "utf8",
    );
    expect(controlHostsToml).not.toContain("dial_timeout");
    expect(controlHostsToml).toBe(renderedHostsToml.replace(/^\s*dial_timeout = .*\n/m, ""));
    upstreamRoute.resetCounts();

    const reference = `${upstream.host}/${repository}:v2`;
    const outcome = await containerd
      .pull(reference, { hostsDir: hostsDirectoryWithoutDialTimeout, timeoutMs: controlBoundMs })
      .then(
        () => "finished",
        (error: unknown) => error,
      );
    // Killed by the bound, not finished and not failed on its own.
    expect(outcome).toBeInstanceOf(TestKitError);
    expect(((outcome as TestKitError).cause as { killed?: boolean }).killed).toBe(true);
    expect(await listedDigest(reference)).toBeUndefined();
    expect(upstreamRoute.requests()).toEqual([]);
  }, 60_000);
});
