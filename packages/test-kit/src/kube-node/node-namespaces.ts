// The node's own network and mount namespaces: a "machine" inside this one, as a kind node is a
// container. Pods, iptables rules, routes and the node's /etc/containerd, /var/lib, /var/log and
// /run live there and vanish with it; the machine's own network and files stay as they were.
import { existsSync, mkdirSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TestKitError } from "../errors.js";
import {
  type CommandResult,
  runCommand,
  startTrackedProcess,
  type TrackedProcess,
  waitUntilReady,
} from "../processes.js";

export interface NodeNamespacesOptions {
  /** Where the node's private directories are made (a temp directory of the caller). */
  directory: string;
  /** The node's own address (on its loopback device): pods and Services reach the node there. */
  nodeAddress: string;
  /** Machine directories the node sees as its own empty copy (created under `directory`). */
  privateDirectories: string[];
  /**
   * Kernel settings (/proc/sys paths) the node sees with these values while the machine keeps its
   * own: the kubelet writes machine-wide settings otherwise (docs/adr/0023).
   */
  kernelSettings: Record<string, number>;
}

export interface NodeNamespaces {
  /** The process that holds the namespaces open. */
  holderPid: number;
  /** The mount namespace's id (`mnt:[N]`): every process of the node has it. */
  mountNamespace: string;
  /** Where a node path (under one of the private directories) is on the machine. */
  machinePath(nodePath: string): string;
  /** Starts a long-running process inside the node's namespaces. */
  start(options: {
    name: string;
    command: string;
    args: string[];
    env?: NodeJS.ProcessEnv;
    talk?: boolean;
  }): TrackedProcess;
  /** Runs a command inside the node's namespaces to completion. */
  run(command: string, args: string[], options?: { timeoutMs?: number }): Promise<CommandResult>;
  /** Kills every process left in the node's mount namespace, then the holder: all goes. */
  stop(): Promise<void>;
}

function namespaceOf(pid: number | "self", kind: "net" | "mnt"): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

/** PIDs of the processes in a mount namespace (those the node started and their children). */
export function processesInMountNamespace(mountNamespace: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    if (namespaceOf(Number(entry), "mnt") === mountNamespace) pids.push(Number(entry));
  }
  return pids;
}

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

export async function createNodeNamespaces(
  options: NodeNamespacesOptions,
): Promise<NodeNamespaces> {
  for (const directory of options.privateDirectories) {
    if (!existsSync(directory)) {
      throw new TestKitError(
        "BAD_INPUT",
        `the node hides the machine's ${directory} behind its own, but ${directory} does not exist here`,
      );
    }
  }
  // `unshare` without --fork execs `sleep` inside the new namespaces: its PID holds them.
  const holder = startTrackedProcess({
    name: "node namespaces",
    command: "unshare",
    args: ["--net", "--mount", "--propagation", "private", "--", "sleep", "infinity"],
  });
  const ownNetwork = namespaceOf("self", "net");
  await waitUntilReady(
    "the node's namespaces",
    async () => {
      const network = namespaceOf(holder.pid, "net");
      return network !== undefined && network !== ownNetwork;
    },
    { process: holder, timeoutMs: 10_000 },
  );
  const mountNamespace = namespaceOf(holder.pid, "mnt") ?? "";
  const enter = ["--target", String(holder.pid), "--net", "--mount", "--"];
  const run = (command: string, args: string[], runOptions: { timeoutMs?: number } = {}) =>
    runCommand("nsenter", [...enter, command, ...args], runOptions);

  const privateRoot = join(options.directory, "machine");
  const machinePath = (nodePath: string) => {
    const owner = options.privateDirectories.find(
      (directory) => nodePath === directory || nodePath.startsWith(`${directory}/`),
    );
    if (owner === undefined) {
      throw new TestKitError(
        "BAD_INPUT",
        `${nodePath} is not in one of the node's own directories (${options.privateDirectories.join(", ")})`,
      );
    }
    return join(privateRoot, nodePath);
  };

  const stop = async () => {
    // Processes in the node's mount namespace: the daemons and containerd's shims. (Containers
    // have namespaces of their own and go with their cgroups, see node-cgroups.ts.)
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const left = processesInMountNamespace(mountNamespace).filter((pid) => pid !== holder.pid);
      if (left.length === 0) break;
      for (const pid of left) safeKill(pid, "SIGKILL");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await holder.stop(1_000);
  };

  try {
    await run("ip", ["link", "set", "lo", "up"]);
    await run("ip", ["address", "add", `${options.nodeAddress}/32`, "dev", "lo"]);
    for (const directory of options.privateDirectories) {
      const source = join(privateRoot, directory);
      mkdirSync(source, { recursive: true });
      await run("mount", ["--bind", source, directory]);
    }
    const kernelDirectory = join(options.directory, "kernel");
    mkdirSync(kernelDirectory, { recursive: true });
    for (const [setting, value] of Object.entries(options.kernelSettings)) {
      const file = join(kernelDirectory, setting.replaceAll("/", "."));
      writeFileSync(file, `${value}\n`);
      await run("mount", ["--bind", "-o", "ro", file, join("/proc/sys", setting)]);
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    holderPid: holder.pid,
    mountNamespace,
    machinePath,
    start: (processOptions) =>
      startTrackedProcess({
        name: processOptions.name,
        command: "nsenter",
        args: [...enter, processOptions.command, ...processOptions.args],
        env: processOptions.env,
        talk: processOptions.talk,
      }),
    run,
    stop,
  };
}
