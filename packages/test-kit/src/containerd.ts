// containerd (and ctr) as a test client: a private daemon pulling through hosts.toml.
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { TestKitError } from "./errors.js";
import { findBinary, runCommand, startTrackedProcess, waitUntilReady } from "./processes.js";
import { makeTempDirectory, removeTempDirectory } from "./temp-directory.js";
import { toolPath } from "./tool-path.js";

export interface ContainerdPullOptions {
  /** A certs.d-style directory: `DIR/<host>/hosts.toml`. */
  hostsDir?: string;
  plainHttp?: boolean;
  /** `user:password` for `ctr --user`. */
  user?: string;
  /** Pull only this platform (e.g. "linux/amd64"); default the machine's. `all` pulls every one. */
  platform?: string | "all";
  /** Kill `ctr` after this long (default 120 s); the error's `cause.killed` is then true. */
  timeoutMs?: number;
}

export interface ContainerdImage {
  name: string;
  digest: string;
  mediaType: string;
}

export interface Containerd {
  socket: string;
  /** The `ctr` that drives this containerd. */
  ctrBinary: string;
  rootDirectory: string;
  namespace: string;
  /** The daemon's release, e.g. "1.6.20" or "2.4.2" (from `containerd --version`). */
  version: string;
  /** The snapshotter `pull` unpacks with. */
  snapshotter: string;
  /** Runs `ctr` against this containerd and namespace; returns stdout. */
  ctr(args: string[]): Promise<string>;
  pull(reference: string, options?: ContainerdPullOptions): Promise<void>;
  listImages(): Promise<ContainerdImage[]>;
  stop(): Promise<void>;
}

export interface ContainerdOptions {
  /**
   * Default hosts directory for `pull` (a certs.d-style tree, what CRI calls `config_path`).
   * The CRI plugin is disabled here, so the directory reaches containerd through
   * `ctr --hosts-dir`, which reads `DIR/<host>/hosts.toml` on every pull as CRI would.
   */
  hostsDir?: string;
  /** Snapshotter used to unpack: default "overlayfs" when the kernel has it, else "native". */
  snapshotter?: string;
  /**
   * Which containerd: "system" (default) is the `containerd`/`ctr` on PATH (Debian's 1.6);
   * "2" is containerd 2 built by the test command (`toolPath("containerd")`, scripts/go-tools.json).
   */
  release?: "system" | "2";
  /** A containerd binary to run instead (its major version picks the config layout). */
  containerdBinary?: string;
  /** The `ctr` to drive it with; default the one next to `containerdBinary`, else on PATH. */
  ctrBinary?: string;
}

/** Plugins that need privileges, devices or services a test has no use for (containerd 1.x). */
const disabledPlugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
];

function kernelHasOverlay(): boolean {
  try {
    return /\toverlay$/m.test(readFileSync("/proc/filesystems", "utf8"));
  } catch {
    return false;
  }
}

/** Mount points at or below `directory`, deepest first (so they can be unmounted in order). */
function mountsBelow(directory: string): string[] {
  const mounts = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .map((field) => field.replace(/\\040/g, " "))
    .filter((mountPoint) => mountPoint === directory || mountPoint.startsWith(`${directory}/`));
  return mounts.sort((a, b) => b.length - a.length);
}

/**
 * Plugins a test's containerd never needs that would touch machine-wide paths (/opt) or want
 * devices and services the machine may lack: off in the containerd 2 the kit starts, alone or
 * in a node.
 */
export const machineWidePlugins = [
  // Writes /opt/containerd on the machine.
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.erofs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
];

/**
 * What containerd 2 (config `version = 3`) runs without: CRI, split into several plugins there,
 * NRI (it would listen on /var/run/nri/nri.sock, a machine-wide path a test must not touch) and
 * the machine-wide plugins.
 */
const disabledPluginsV2 = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.cri.v1.images",
  "io.containerd.cri.v1.runtime",
  "io.containerd.podsandbox.controller.v1.podsandbox",
  "io.containerd.nri.v1.nri",
  ...machineWidePlugins,
];

/** The containerd and ctr binaries to run, from the options. */
function chooseBinaries(options: ContainerdOptions): { containerd: string; ctr: string } {
  if (options.release === "2" && options.containerdBinary !== undefined) {
    throw new TestKitError(
      "BAD_INPUT",
      "startContainerd: give either release or containerdBinary, not both",
    );
  }
  if (options.release !== "2" && options.containerdBinary === undefined) {
    const ctr = findBinary(options.ctrBinary ?? "ctr");
    return { containerd: findBinary("containerd"), ctr };
  }
  const containerd = findBinary(options.containerdBinary ?? toolPath("containerd"));
  return { containerd, ctr: findBinary(options.ctrBinary ?? join(dirname(containerd), "ctr")) };
}

/** "containerd github.com/containerd/containerd/v2 v2.4.2 <commit>" → "2.4.2". */
async function containerdVersion(binary: string): Promise<string> {
  const { stdout } = await runCommand(binary, ["--version"], { timeoutMs: 10_000 });
  const version = /\sv?(\d+\.\d+\.\d+\S*)/.exec(stdout)?.[1];
  if (version === undefined) {
    throw new TestKitError(
      "BAD_INPUT",
      `${binary} --version printed no version: ${JSON.stringify(stdout.trim())}`,
    );
  }
  return version;
}

function daemonConfig(rootDirectory: string, socket: string, majorVersion: number): string {
  return [
    // Every containerd 2.x reads version 3 (2.4 writes 4 and migrates 3 in memory, warning).
    majorVersion >= 2 ? "version = 3" : "version = 2",
    `root = ${JSON.stringify(join(rootDirectory, "root"))}`,
    `state = ${JSON.stringify(join(rootDirectory, "state"))}`,
    `disabled_plugins = ${JSON.stringify(majorVersion >= 2 ? disabledPluginsV2 : disabledPlugins)}`,
    "[grpc]",
    `  address = ${JSON.stringify(socket)}`,
    "[ttrpc]",
    `  address = ${JSON.stringify(join(rootDirectory, "containerd-ttrpc.sock"))}`,
    "",
  ].join("\n");
}

/** Starts a containerd with its own root, state, socket and config; call `stop()` in afterAll. */
export async function startContainerd(options: ContainerdOptions = {}): Promise<Containerd> {
  const binaries = chooseBinaries(options);
  if (process.getuid?.() !== 0) {
    throw new TestKitError(
      "BAD_INPUT",
      "startContainerd needs root (containerd mounts snapshots): run the tests as root",
    );
  }
  const version = await containerdVersion(binaries.containerd);
  const majorVersion = Number(version.split(".")[0]);
  const rootDirectory = makeTempDirectory("regmirror-containerd-");
  const socket = join(rootDirectory, "containerd.sock");
  const namespace = "regmirror-test";
  const snapshotter = options.snapshotter ?? (kernelHasOverlay() ? "overlayfs" : "native");
  const configPath = join(rootDirectory, "config.toml");
  await writeFile(configPath, daemonConfig(rootDirectory, socket, majorVersion));

  const daemon = startTrackedProcess({
    name: "containerd",
    command: binaries.containerd,
    args: ["--config", configPath, "--log-level", "warn"],
    cwd: rootDirectory,
  });
  const ctr = (args: string[], timeoutMs?: number) =>
    runCommand(binaries.ctr, ["--address", socket, "--namespace", namespace, ...args], {
      timeoutMs,
    });

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      // Containers (runContainer) outlive the daemon in their shims: end them first.
      const tasks = await ctr(["tasks", "list", "--quiet"], 10_000).catch(() => ({ stdout: "" }));
      for (const id of tasks.stdout.split("\n").filter((line) => line.trim() !== "")) {
        await ctr(["tasks", "kill", "--signal", "SIGKILL", id.trim()], 10_000).catch(
          () => undefined,
        );
        await ctr(["tasks", "delete", "--force", id.trim()], 10_000).catch(() => undefined);
      }
      await daemon.stop();
      // Unpacking mounts snapshots briefly; a killed daemon could leave one behind.
      for (const mountPoint of mountsBelow(rootDirectory)) {
        await runCommand("umount", ["-l", mountPoint]).catch(() => undefined);
      }
      await removeTempDirectory(rootDirectory);
    })();
    return stopped;
  };

  try {
    await waitUntilReady(
      `containerd on ${socket}`,
      async () => existsSync(socket) && (await ctr(["version"], 5_000)).stdout.includes("Server:"),
      { process: daemon },
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    socket,
    ctrBinary: binaries.ctr,
    rootDirectory,
    namespace,
    version,
    snapshotter,
    async ctr(args) {
      return (await ctr(args)).stdout;
    },
    async pull(reference, pullOptions = {}) {
      const hostsDir = pullOptions.hostsDir ?? options.hostsDir;
      const args = ["images", "pull", "--snapshotter", snapshotter];
      if (hostsDir !== undefined) args.push("--hosts-dir", hostsDir);
      if (pullOptions.plainHttp) args.push("--plain-http");
      if (pullOptions.user !== undefined) args.push("--user", pullOptions.user);
      if (pullOptions.platform === "all") args.push("--all-platforms");
      else if (pullOptions.platform !== undefined) args.push("--platform", pullOptions.platform);
      await ctr([...args, reference], pullOptions.timeoutMs ?? 120_000);
    },
    async listImages() {
      const { stdout } = await ctr(["images", "list"]);
      // Columns: REF TYPE DIGEST SIZE PLATFORMS LABELS; the first line is the header.
      return stdout
        .split("\n")
        .slice(1)
        .map((line) => line.trim().split(/\s+/))
        .filter((fields) => fields.length >= 3 && fields[0] !== "")
        .map(([name = "", mediaType = "", digest = ""]) => ({ name, mediaType, digest }));
    },
    stop,
  };
}
