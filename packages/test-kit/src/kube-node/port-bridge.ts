// Connects the machine's loopback and the node's network namespace through Unix sockets, which
// both can reach by path: the node reaches the API server and registries on the machine's
// 127.0.0.1, and a test reaches an address inside the node (a pod) from the machine's 127.0.0.1.
// The node side is port-bridge-agent.ts, run inside the node with nsenter.
import { mkdirSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { TestKitError } from "../errors.js";
import { listenOnLoopback } from "../free-port.js";
import type { TrackedProcess } from "../processes.js";
import type { NodeNamespaces } from "./node-namespaces.js";

export interface PortBridge {
  /**
   * Makes the machine's 127.0.0.1:port answer inside the node at `host`:port (default every
   * address of the node, so 127.0.0.1 and the node address; pods reach the node address).
   */
  exposeMachinePort(port: number, host?: string): Promise<void>;
  /** Makes `host:port` inside the node (e.g. a pod) answer at the returned 127.0.0.1 URL authority. */
  reachNodeAddress(host: string, port: number): Promise<string>;
  stop(): Promise<void>;
}

function splice(accepted: Socket, connect: () => Socket): void {
  const upstream = connect();
  accepted.pipe(upstream).pipe(accepted);
  const close = () => {
    accepted.destroy();
    upstream.destroy();
  };
  accepted.on("error", close);
  upstream.on("error", close);
  accepted.on("close", close);
  upstream.on("close", close);
}

export async function startPortBridge(
  namespaces: NodeNamespaces,
  directory: string,
): Promise<PortBridge> {
  const socketDirectory = join(directory, "bridge");
  mkdirSync(socketDirectory, { recursive: true });
  const agent: TrackedProcess = namespaces.start({
    name: "port bridge",
    command: process.execPath,
    args: [join(import.meta.dirname, "port-bridge-agent.ts")],
    talk: true,
  });
  if (agent.streams === undefined)
    throw new TestKitError("COMMAND_FAILED", "port bridge: no stdin");
  const { stdin, stdout } = agent.streams;
  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const servers: Server[] = [];
  createInterface({ input: stdout }).on("line", (line) => {
    let message: { id?: number; ok?: boolean; error?: string };
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (waiter === undefined) return;
    pending.delete(message.id as number);
    if (message.ok) waiter.resolve();
    else waiter.reject(new TestKitError("COMMAND_FAILED", `port bridge: ${message.error}`));
  });
  const send = (command: Record<string, unknown>) =>
    new Promise<void>((resolve, reject) => {
      if (agent.exitCode() !== undefined) {
        reject(
          new TestKitError("PROCESS_EXITED", `the port bridge has exited:\n${agent.output()}`),
        );
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve, reject });
      stdin.write(`${JSON.stringify({ id, ...command })}\n`);
    });

  return {
    async exposeMachinePort(port, host = "0.0.0.0") {
      const unix = join(socketDirectory, `machine-${port}.sock`);
      const server = createServer((socket) =>
        splice(socket, () => createConnection({ host: "127.0.0.1", port })),
      );
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(unix, resolve);
      });
      servers.push(server);
      await send({ op: "listen-tcp", host, port, unix });
    },
    async reachNodeAddress(host, port) {
      const unix = join(socketDirectory, `node-${nextId}.sock`);
      await send({ op: "listen-unix", unix, host, port });
      const server = createServer((socket) => splice(socket, () => createConnection(unix)));
      const localPort = await listenOnLoopback(server);
      servers.push(server);
      return `127.0.0.1:${localPort}`;
    },
    async stop() {
      stdin.end();
      await agent.stop(2_000);
      await Promise.all(
        servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      );
    },
  };
}
