// Runs a container from an image in a kit containerd with `ctr run` (runc), as a process the test
// holds: its output, its exit code, signals through `ctr tasks kill`.
import { spawnSync } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { registerExitCleanup } from "@regmirror/envtest";
import type { Containerd } from "./containerd.js";
import { TestKitError } from "./errors.js";
import { startTrackedProcess } from "./processes.js";

export interface ContainerMount {
  /** A host path. */
  source: string;
  /** Where it appears in the container. */
  destination: string;
  readOnly?: boolean;
}

export interface ContainerRunOptions {
  /** An image the containerd holds (pulled or imported). */
  image: string;
  /** The container id, unique in the containerd. */
  id: string;
  /**
   * The whole command line. `ctr run` replaces the image's entrypoint and command with it (unlike
   * Kubernetes' args); without it the image's entrypoint and command run.
   */
  args?: string[];
  mounts?: ContainerMount[];
  readOnlyRootFilesystem?: boolean;
  /** Share the host's network namespace (listen on and reach 127.0.0.1). */
  hostNetwork?: boolean;
  /** `NAME=value` added to the image's environment. */
  env?: string[];
  /**
   * Run as this user instead of the image's (as a pod's securityContext.runAsUser does), with
   * exactly these capabilities (e.g. ["CAP_CHOWN"]; default none). containerd 1.6's ctr has no
   * --user, so the kit then runs a runtime spec of its own over a snapshot of the image's files
   * (`ctr images mount`): the image's config does not apply, so `args` (and `env`) are required.
   */
  user?: { uid: number; gid: number; capabilities?: string[] };
}

export interface RunningContainer {
  id: string;
  /** What the container wrote to stdout and stderr (the last 64 KiB). */
  output(): string;
  /** The container's exit code once it has exited (ctr run exits with it). */
  exitCode(): number | null | undefined;
  /** Resolves with the exit code when the container has exited. */
  exited: Promise<number | null | undefined>;
  /** Sends a signal to the container's first process (`ctr tasks kill`). */
  signal(name: NodeJS.Signals): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s); resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null | undefined>;
}

function mountFlags(mounts: readonly ContainerMount[]): string[] {
  return mounts.flatMap((mount) => [
    "--mount",
    `type=bind,src=${mount.source},dst=${mount.destination},options=rbind:${mount.readOnly ? "ro" : "rw"}`,
  ]);
}

interface RuntimeSpec {
  process: {
    args: string[];
    env?: string[];
    cwd: string;
    user: { uid: number; gid: number };
    capabilities: Record<string, string[]>;
  };
  root: { path: string; readonly: boolean };
  mounts: { destination: string; type: string; source: string; options: string[] }[];
  linux: { namespaces: { type: string }[]; cgroupsPath?: string };
}

/** ctr's default runtime spec with the options applied, over the image mounted at `rootPath`. */
async function runtimeSpec(
  containerd: Containerd,
  options: ContainerRunOptions & { user: NonNullable<ContainerRunOptions["user"]> },
  rootPath: string,
): Promise<RuntimeSpec> {
  const spec = JSON.parse(await containerd.ctr(["oci", "spec"])) as RuntimeSpec;
  const capabilities = options.user.capabilities ?? [];
  spec.root = { path: rootPath, readonly: options.readOnlyRootFilesystem ?? false };
  spec.process.args = options.args ?? [];
  spec.process.env = [...(spec.process.env ?? []), ...(options.env ?? [])];
  spec.process.cwd = "/";
  spec.process.user = { uid: options.user.uid, gid: options.user.gid };
  spec.process.capabilities = {
    bounding: capabilities,
    effective: capabilities,
    permitted: capabilities,
  };
  for (const mount of options.mounts ?? []) {
    spec.mounts.push({
      destination: mount.destination,
      type: "bind",
      source: mount.source,
      options: ["rbind", mount.readOnly ? "ro" : "rw"],
    });
  }
  // `ctr oci spec` knows no container id: its cgroup would be the namespace's own.
  spec.linux.cgroupsPath = `/${containerd.namespace}/${options.id}`;
  if (options.hostNetwork) {
    spec.linux.namespaces = spec.linux.namespaces.filter(
      (namespace) => namespace.type !== "network",
    );
  }
  return spec;
}

/** The `ctr run` arguments; with `user`, after mounting the image under containerd's root. */
async function runArguments(
  containerd: Containerd,
  options: ContainerRunOptions,
): Promise<{ args: string[]; cleanup: () => Promise<void> }> {
  const { user } = options;
  if (user === undefined) {
    return {
      args: [
        "run",
        "--rm",
        "--snapshotter",
        containerd.snapshotter,
        ...(options.readOnlyRootFilesystem ? ["--read-only"] : []),
        ...(options.hostNetwork ? ["--net-host"] : []),
        ...mountFlags(options.mounts ?? []),
        ...(options.env ?? []).flatMap((variable) => ["--env", variable]),
        options.image,
        options.id,
        ...(options.args ?? []),
      ],
      cleanup: async () => undefined,
    };
  }
  if (options.args === undefined || options.args.length === 0) {
    throw new TestKitError("BAD_INPUT", "runContainer: `user` needs the whole command in `args`");
  }
  // Under containerd's root, so its stop() unmounts it if the test cannot.
  const directory = join(containerd.rootDirectory, "run-container", options.id);
  const rootPath = join(directory, "rootfs");
  await mkdir(rootPath, { recursive: true });
  // A writable snapshot over the image, as `ctr run` makes: runc creates its mount points there
  // before it makes the root read-only.
  await containerd.ctr([
    "images",
    "mount",
    "--rw",
    "--snapshotter",
    containerd.snapshotter,
    options.image,
    rootPath,
  ]);
  const specPath = join(directory, "config.json");
  await writeFile(
    specPath,
    JSON.stringify(await runtimeSpec(containerd, { ...options, user }, rootPath)),
  );
  return {
    args: ["run", "--rm", "--config", specPath, options.id],
    cleanup: async () => {
      await containerd.ctr(["images", "unmount", "--rm", rootPath]).catch(() => undefined);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Starts the container; call `stop()` in afterAll (containerd's stop() kills what is left). */
export async function runContainer(
  containerd: Containerd,
  options: ContainerRunOptions,
): Promise<RunningContainer> {
  const address = ["--address", containerd.socket, "--namespace", containerd.namespace];
  const { args, cleanup } = await runArguments(containerd, options);
  const ctrRun = startTrackedProcess({
    name: `container ${options.id}`,
    command: containerd.ctrBinary,
    args: [...address, ...args],
  });
  // Killing ctr leaves the container running in its shim: the last resort kills the task.
  const unregister = registerExitCleanup(() => {
    spawnSync(containerd.ctrBinary, [
      ...address,
      "tasks",
      "kill",
      "--signal",
      "SIGKILL",
      options.id,
    ]);
  });
  const exited = ctrRun.exited.then(async () => {
    unregister();
    await cleanup();
    return ctrRun.exitCode();
  });
  const signal = async (name: NodeJS.Signals) => {
    if (ctrRun.exitCode() !== undefined) return;
    await containerd
      .ctr(["tasks", "kill", "--signal", name, options.id])
      .catch((error: unknown) => {
        if (ctrRun.exitCode() === undefined) throw error; // else it exited meanwhile
      });
  };
  let stopping: Promise<number | null | undefined> | undefined;
  return {
    id: options.id,
    output: ctrRun.output,
    exitCode: ctrRun.exitCode,
    exited,
    signal,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        await signal("SIGTERM").catch(() => undefined);
        const timer = setTimeout(() => void signal("SIGKILL").catch(() => undefined), graceMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })();
      return stopping;
    },
  };
}
