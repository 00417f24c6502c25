// What a command of the regmirror-operator binary may use of its process (main.ts provides it).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "@regmirror/core";

/** The process's logger: a pino logger fits; `child` adds fields to every line. */
export interface ProcessLogger extends Logger {
  child(bindings: Record<string, unknown>): ProcessLogger;
}

export interface ListeningServer {
  /** "host:port" actually bound (the port is known after binding port 0). */
  address: string;
  /** An HTTPS server serves new connections with this key and certificate from now on. */
  reloadTls(tls: { key: string; cert: string }): void;
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
  createLogger(name: string): ProcessLogger;
  /** Plain HTTP, or HTTPS with `tls` (PEM key and certificate chain). */
  listen(
    handler: (request: IncomingMessage, response: ServerResponse) => void,
    address: { host: string; port: number },
    tls?: { key: string; cert: string },
  ): Promise<ListeningServer>;
  /** Resolves with the signal's name on the first SIGTERM or SIGINT. */
  shutdownSignal: Promise<string>;
}

export interface CliCommand {
  usage: string;
  run(argv: string[], runtime: CliRuntime): Promise<number>;
}
