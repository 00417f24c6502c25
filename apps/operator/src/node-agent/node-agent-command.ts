// `regmirror-operator node-agent`: the node agent's flags, applier and HTTP endpoints.
import { parseArgs } from "node:util";
import { parseDuration } from "@regmirror/core";
import { createNodeTrustApplier, NodeTrustError } from "@regmirror/node-trust";
import type { CliCommand, CliRuntime } from "../cli-runtime.js";
import { createNodeAgent } from "./node-agent.js";

const usage = `Usage: regmirror-operator node-agent --state-file FILE --listen HOST:PORT [options]

Makes this node's container runtimes use the registry mirrors and trust their CA: applies the
desired node state in FILE (JSON; the operator mounts it from a ConfigMap) at start and whenever
FILE changes, and again every --resync interval. Files it did not write are never overwritten.

Options:
  --state-file FILE       desired node state (JSON), e.g. /etc/regmirror/node-state.json
  --root DIR              where the node's file system is mounted (default /; e.g. /host)
  --instance NAME         name this agent (a DNS label, e.g. the mirror's name) when several
                          run on one node: it then keeps its own ownership record
                          (/var/lib/regmirror/node-trust-NAME.json), /etc/hosts block and
                          CRI-O drop-in, and never touches another instance's files
  --listen HOST:PORT      serve GET /healthz (liveness), GET /readyz (200 only once the
                          current state is applied without conflict) and GET /metrics
                          here (port 0: any free port)
  --resync DURATION       re-apply this often, e.g. 30s, 5m, 1m30s (default 60s)
  --uninstall-on-exit     on SIGTERM/SIGINT, remove every file the agent wrote and restore
                          what was there before (use when the mirror is being deleted)
  --take-over             back up and replace files regmirror did not write (restored on
                          uninstall); without it such files are reported as conflicts
  -h, --help              this text

Logs are JSON lines on stdout.`;

interface NodeAgentArguments {
  stateFile: string;
  root: string;
  instance?: string;
  host: string;
  port: number;
  resyncIntervalMs: number;
  uninstallOnExit: boolean;
  takeOver: boolean;
}

class UsageError extends Error {}

function parseListen(value: string): { host: string; port: number } {
  const colon = value.lastIndexOf(":");
  const host = value.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const portText = value.slice(colon + 1);
  const port = Number(portText);
  if (colon <= 0 || !/^[0-9]{1,5}$/.test(portText) || port > 65535) {
    throw new UsageError(`--listen "${value}" is not HOST:PORT (e.g. 127.0.0.1:9464)`);
  }
  return { host, port };
}

function parseNodeAgentArguments(argv: string[]): NodeAgentArguments | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      "state-file": { type: "string" },
      root: { type: "string", default: "/" },
      instance: { type: "string" },
      listen: { type: "string" },
      resync: { type: "string", default: "60s" },
      "uninstall-on-exit": { type: "boolean", default: false },
      "take-over": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  if (!values["state-file"]) throw new UsageError("--state-file is required");
  if (!values.listen) throw new UsageError("--listen is required");
  const resyncIntervalMs = parseDuration(values.resync);
  if (resyncIntervalMs === undefined || resyncIntervalMs < 1000) {
    throw new UsageError(
      `--resync "${values.resync}" is not a duration of at least 1s (e.g. 60s, 5m)`,
    );
  }
  return {
    stateFile: values["state-file"],
    root: values.root,
    ...(values.instance === undefined ? {} : { instance: values.instance }),
    ...parseListen(values.listen),
    resyncIntervalMs,
    uninstallOnExit: values["uninstall-on-exit"],
    takeOver: values["take-over"],
  };
}

async function runNodeAgent(argv: string[], runtime: CliRuntime): Promise<number> {
  let options: NodeAgentArguments | "help";
  try {
    options = parseNodeAgentArguments(argv);
  } catch (error) {
    runtime.writeError(`node-agent: ${(error as Error).message}\n\n${usage}\n`);
    return 2;
  }
  if (options === "help") {
    runtime.writeOut(`${usage}\n`);
    return 0;
  }
  const logger = runtime.createLogger("node-agent");
  let applier: ReturnType<typeof createNodeTrustApplier>;
  try {
    applier = createNodeTrustApplier({
      root: options.root,
      ...(options.instance === undefined ? {} : { instance: options.instance }),
      logger: logger.child({ component: "node-trust" }),
    });
  } catch (error) {
    if (!NodeTrustError.isInstance(error)) throw error;
    runtime.writeError(`node-agent: ${error.message}\n`);
    return 2;
  }
  const agent = createNodeAgent({
    stateFile: options.stateFile,
    applier,
    logger,
    resyncIntervalMs: options.resyncIntervalMs,
    uninstallOnClose: options.uninstallOnExit,
    takeOver: options.takeOver,
  });
  await agent.start();
  const server = await runtime.listen(agent.handleHttpRequest, {
    host: options.host,
    port: options.port,
  });
  logger.info(
    { address: server.address, stateFile: options.stateFile, root: options.root },
    "node agent listening",
  );
  const signal = await runtime.shutdownSignal;
  logger.info({ signal, uninstall: options.uninstallOnExit }, "node agent stopping");
  await server.close();
  await agent.close();
  logger.info({}, "node agent stopped");
  return 0;
}

export const nodeAgentCommand: CliCommand = {
  usage,
  run: runNodeAgent,
};
