// Free loopback ports and listening on them.
import { createServer, type Server } from "node:net";
import { TestKitError } from "./errors.js";

/** Starts `server` (net, http or https) on 127.0.0.1 at a port the OS picks; returns the port. */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") {
    throw new TestKitError("BAD_INPUT", "could not read the port the OS picked");
  }
  return address.port;
}

export { freePort, isAddressInUse, retryOnAddressInUse } from "@regmirror/envtest";

/** Throws PORT_IN_USE, naming the port, when something already listens on 127.0.0.1:port. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      throw new TestKitError(
        "PORT_IN_USE",
        `${what}: port 127.0.0.1:${port} is already in use; stop what listens there or leave the port out to get a free one`,
        { cause: error },
      );
    }
    throw error;
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
