import type { IncomingMessage, ServerResponse } from "node:http";
import type { NodeAgentLogger } from "./node-agent/node-agent-logger.js";

export interface ListeningServer {
  /** "host:port" actually bound (the port is known after binding port 0). */
  address: string;
  close(): Promise<void>;
}

/**
 * What a command may use of the process. main.ts is the only implementation: it alone reads
 * process.env, listens and installs signal handlers, so commands stay testable.
 */
export interface CliRuntime {
  /** The process environment (KUBECONFIG, KUBERNETES_SERVICE_HOST...). */
  environment: Readonly<Record<string, string | undefined>>;
  /** The user's home directory (~/.kube/config). */
  homeDirectory: string | undefined;
  writeOut(text: string): void;
  writeError(text: string): void;
  createLogger(name: string): NodeAgentLogger;
  listen(
    handler: (request: IncomingMessage, response: ServerResponse) => void,
    address: { host: string; port: number },
  ): Promise<ListeningServer>;
  /** Resolves with the signal's name on the first SIGTERM or SIGINT. */
  shutdownSignal: Promise<string>;
}

export interface CliCommand {
  usage: string;
  run(argv: string[], runtime: CliRuntime): Promise<number>;
}
