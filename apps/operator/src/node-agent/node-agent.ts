// The node agent: applies the desired node state with node-trust at start, on change and on resync.
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Clock, type Logger, systemClock } from "@regmirror/core";
import {
  type NodeFileOutcome,
  type NodeTrustApplier,
  NodeTrustError,
  type NodeTrustWarning,
  parseNodeTrustState,
} from "@regmirror/node-trust";
import { type ApplyResult, applyResults, renderNodeAgentMetrics } from "./node-agent-metrics.js";
import {
  type NodeAgentReadiness,
  nodeAgentReadiness,
  stateDigest,
} from "./node-agent-readiness.js";
import { watchStateFile } from "./state-file-watcher.js";

export interface NodeAgentDependencies {
  /** The mounted desired-state file (JSON, what the operator puts in the ConfigMap). */
  stateFile: string;
  applier: Pick<NodeTrustApplier, "apply" | "remove" | "managedFiles">;
  logger: Logger;
  /** Re-apply this often even without a change event (repairs deleted files too). Default 60 s. */
  resyncIntervalMs?: number;
  /** Remove every file the agent wrote when it is closed (the DaemonSet is being deleted). */
  uninstallOnClose?: boolean;
  /** Back up and replace files regmirror did not write (see node-trust's takeOver). */
  takeOver?: boolean;
  clock?: Clock;
}

export interface LastApply {
  result: ApplyResult;
  trigger: string;
  finishedAt: number;
  message?: string;
  conflicts: NodeFileOutcome[];
  warnings: NodeTrustWarning[];
}

export interface NodeAgentStatus {
  lastApply?: LastApply;
  managedFiles: number;
  appliesByResult: Record<ApplyResult, number>;
}

export interface NodeAgent {
  /** Applies the state file once and starts watching it. */
  start(): Promise<void>;
  /** Applies now (queued behind a running apply); resolves with that apply's outcome. */
  applyNow(trigger: string): Promise<LastApply>;
  status(): NodeAgentStatus;
  /** Whether the node is configured as the state file asks now (what GET /readyz answers). */
  readiness(): Promise<NodeAgentReadiness>;
  /**
   * Serves GET /healthz (liveness: 200 with the JSON status while the process runs), GET /readyz
   * (200 only after a clean apply of the current state, else 503) and GET /metrics.
   */
  handleHttpRequest(request: IncomingMessage, response: ServerResponse): void;
  /** Stops watching, waits for a running apply, and uninstalls when asked to. */
  close(): Promise<void>;
}

export function createNodeAgent(dependencies: NodeAgentDependencies): NodeAgent {
  const { stateFile, applier } = dependencies;
  const logger = dependencies.logger;
  const clock = dependencies.clock ?? systemClock;
  const now = () => clock.now();
  const status: NodeAgentStatus = {
    managedFiles: 0,
    appliesByResult: Object.fromEntries(applyResults.map((result) => [result, 0])) as Record<
      ApplyResult,
      number
    >,
  };
  let watcher: { close(): void } | undefined;
  let closing: Promise<void> | undefined;
  // One apply at a time; triggers during an apply collapse into one more apply after it.
  let running: Promise<LastApply> | undefined;
  let queued: Promise<LastApply> | undefined;
  // The digest of the state text the last apply read (undefined when it could not read it).
  let appliedDigest: string | undefined;

  async function applyOnce(trigger: string): Promise<LastApply> {
    const { outcome, digest } = await readAndApply(trigger);
    const managedFiles =
      (await applier.managedFiles().catch(() => undefined))?.length ?? status.managedFiles;
    // Everything about this apply changes at once, with no await in between: whoever sees the
    // new status also sees its file count, its counters and its log line. (While an apply runs,
    // the files change before the status does, and readiness still judges the previous one.)
    status.lastApply = outcome;
    appliedDigest = digest;
    status.appliesByResult[outcome.result] += 1;
    status.managedFiles = managedFiles;
    const fields = {
      trigger,
      result: outcome.result,
      managedFiles: status.managedFiles,
      conflicts: outcome.conflicts.map((conflict) => ({
        path: conflict.path,
        reason: conflict.reason,
      })),
      warnings: outcome.warnings.map((warning) => warning.code),
    };
    if (outcome.result === "changed" || outcome.result === "unchanged") {
      logger[outcome.result === "changed" ? "info" : "debug"](fields, "applied desired node state");
    } else {
      logger.warn({ ...fields, error: outcome.message }, "desired node state not fully applied");
    }
    return outcome;
  }

  /** Reads and applies the state file; `digest` is that of the text it read, if it could. */
  async function readAndApply(trigger: string): Promise<{ outcome: LastApply; digest?: string }> {
    let text: string;
    try {
      text = await readFile(stateFile, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const result = code === "ENOENT" ? "missing-state" : "error";
      const message = `cannot read ${stateFile}: ${code ?? (error as Error).message}`;
      return {
        outcome: { trigger, result, finishedAt: now(), message, conflicts: [], warnings: [] },
      };
    }
    return { outcome: await applyStateText(trigger, text), digest: stateDigest(text) };
  }

  async function applyStateText(trigger: string, text: string): Promise<LastApply> {
    const base = { trigger, conflicts: [], warnings: [] };
    let state: unknown;
    try {
      state = JSON.parse(text);
    } catch {
      // JSON.parse quotes the text around the error, which may be a client key: say no more.
      return {
        ...base,
        result: "invalid-state",
        finishedAt: now(),
        message: `${stateFile} is not valid JSON`,
      };
    }
    try {
      // Parsed JSON is untyped: validate it (InvalidNodeStateError below) before applying.
      const applied = await applier.apply(parseNodeTrustState(state), {
        takeOver: dependencies.takeOver ?? false,
      });
      return {
        trigger,
        result: applied.status,
        finishedAt: now(),
        conflicts: applied.conflicts,
        warnings: applied.warnings,
      };
    } catch (error) {
      const result =
        NodeTrustError.isInstance(error) && error.code === "NODE_TRUST_INVALID_STATE"
          ? "invalid-state"
          : "error";
      return { ...base, result, finishedAt: now(), message: (error as Error).message };
    }
  }

  function applyNow(trigger: string): Promise<LastApply> {
    if (!running) {
      running = applyOnce(trigger).finally(() => {
        running = undefined;
      });
      return running;
    }
    queued ??= running.then(() => {
      queued = undefined;
      return applyNow(trigger);
    });
    return queued;
  }

  async function readiness(): Promise<NodeAgentReadiness> {
    const current = await readFile(stateFile, "utf8").then(
      (text) => ({ digest: stateDigest(text) }),
      (error: NodeJS.ErrnoException) => ({
        unreadable: error.code === "ENOENT" ? ("missing-state" as const) : ("error" as const),
      }),
    );
    return nodeAgentReadiness(status.lastApply, appliedDigest, current);
  }

  function send(
    request: IncomingMessage,
    response: ServerResponse,
    code: number,
    type: string,
    body: string,
  ): void {
    response.writeHead(code, { "content-type": type, "content-length": Buffer.byteLength(body) });
    response.end(request.method === "HEAD" ? undefined : body);
  }

  function handleHttpRequest(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? "/").split("?")[0];
    if (path !== "/healthz" && path !== "/readyz" && path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response
        .writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" })
        .end("method not allowed\n");
      return;
    }
    if (path === "/readyz") {
      void readiness().then((answer) =>
        send(
          request,
          response,
          answer.ready ? 200 : 503,
          "application/json",
          `${JSON.stringify(answer)}\n`,
        ),
      );
      return;
    }
    if (path === "/metrics") {
      send(
        request,
        response,
        200,
        "text/plain; version=0.0.4; charset=utf-8",
        renderNodeAgentMetrics(status),
      );
      return;
    }
    const health = {
      status: "ok",
      lastApply: status.lastApply ?? null,
      managedFiles: status.managedFiles,
    };
    send(request, response, 200, "application/json", `${JSON.stringify(health)}\n`);
  }

  return {
    async start() {
      await applyNow("start");
      if (closing) return;
      watcher = watchStateFile({
        stateFile,
        resyncIntervalMs: dependencies.resyncIntervalMs ?? 60_000,
        logger,
        onChange: (reason) => {
          void applyNow(reason);
        },
      });
    },
    applyNow,
    status: () => status,
    readiness,
    handleHttpRequest,
    close() {
      closing ??= (async () => {
        watcher?.close();
        await queued?.catch(() => undefined);
        await running?.catch(() => undefined);
        if (dependencies.uninstallOnClose) {
          const removal = await applier.remove();
          status.managedFiles = removal.kept.length;
          logger.info(
            { status: removal.status, kept: removal.kept.map((outcome) => outcome.path) },
            "removed the node configuration regmirror wrote",
          );
        }
      })();
      return closing;
    },
  };
}
