// The node side of the port bridge: runs INSIDE the node's network namespace (started with
// nsenter) and splices TCP there to Unix sockets, which both namespaces can reach by path.
// Commands arrive as JSON lines on stdin; each gets `{"id","ok"}` or `{"id","error"}` on stdout.
// Only erasable TypeScript and node: built-ins: Node runs this file as it is.
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { createInterface } from "node:readline";

type Command =
  /** Listen on host:port in this namespace; each connection goes to the Unix socket `unix`. */
  | { id: number; op: "listen-tcp"; host: string; port: number; unix: string }
  /** Listen on the Unix socket `unix`; each connection goes to host:port in this namespace. */
  | { id: number; op: "listen-unix"; unix: string; host: string; port: number };

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

const servers: Server[] = [];

async function listen(command: Command): Promise<void> {
  const server =
    command.op === "listen-tcp"
      ? createServer((socket) => splice(socket, () => createConnection(command.unix)))
      : createServer((socket) =>
          splice(socket, () => createConnection({ host: command.host, port: command.port })),
        );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if (command.op === "listen-tcp") server.listen(command.port, command.host, resolve);
    else server.listen(command.unix, resolve);
  });
  servers.push(server);
}

function reply(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

createInterface({ input: process.stdin }).on("line", (line) => {
  let command: Command;
  try {
    command = JSON.parse(line) as Command;
  } catch {
    reply({ id: -1, error: `not a JSON command: ${line.slice(0, 200)}` });
    return;
  }
  listen(command).then(
    () => reply({ id: command.id, ok: true }),
    (error: Error) => reply({ id: command.id, error: error.message }),
  );
});
// The kit ends the bridge by closing stdin (or killing the process).
process.stdin.on("end", () => {
  for (const server of servers) server.close();
  process.exit(0);
});
