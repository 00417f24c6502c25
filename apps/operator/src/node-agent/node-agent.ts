import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  InvalidNodeStateError,
  type NodeFileOutcome,
  type NodeTrustApplier,
  type NodeTrustWarning,
} from "@regmirror/node-trust";
import type { NodeAgentLogger } from "./node-agent-logger.js";
import { type ApplyResult, applyResults, renderNodeAgentMetrics } from "./node-agent-metrics.js";
import { watchStateFile } from "./state-file-watcher.js";

export interface NodeAgentDependencies {
  /** The mounted desired-state file (JSON, what the operator puts in the ConfigMap). */
  stateFile: string;
  applier: Pick<NodeTrustApplier, "apply" | "remove" | "managedFiles">;
  logger: NodeAgentLogger;
  /** Re-apply this often even without a change event (repairs deleted files too). Default 60 s. */
  resyncIntervalMs?: number;
  /** Remove every file the agent wrote when it is closed (the DaemonSet is being deleted). */
  uninstallOnClose?: boolean;
  /** Back up and replace files regmirror did not write (see node-trust's takeOver). */
  takeOver?: boolean;
  now?: () => number;
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
  /** Serves GET /healthz (JSON status) and GET /metrics (Prometheus text). */
  handleHttpRequest(request: IncomingMessage, response: ServerResponse): void;
  /** Stops watching, waits for a running apply, and uninstalls when asked to. */
  close(): Promise<void>;
}

export function createNodeAgent(dependencies: NodeAgentDependencies): NodeAgent {
  const { stateFile, applier } = dependencies;
  const logger = dependencies.logger;
  const now = dependencies.now ?? Date.now;
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

  async function applyOnce(trigger: string): Promise<LastApply> {
    const outcome = await readAndApply(trigger);
    status.lastApply = outcome;
    status.appliesByResult[outcome.result] += 1;
    status.managedFiles =
      (await applier.managedFiles().catch(() => undefined))?.length ?? status.managedFiles;
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

  async function readAndApply(trigger: string): Promise<LastApply> {
    const base = { trigger, conflicts: [], warnings: [] };
    let text: string;
    try {
      text = await readFile(stateFile, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const result = code === "ENOENT" ? "missing-state" : "error";
      return {
        ...base,
        result,
        finishedAt: now(),
        message: `cannot read ${stateFile}: ${code ?? (error as Error).message}`,
      };
    }
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
      const applied = await applier.apply(state, { takeOver: dependencies.takeOver ?? false });
      return {
        trigger,
        result: applied.status,
        finishedAt: now(),
        conflicts: applied.conflicts,
        warnings: applied.warnings,
      };
    } catch (error) {
      const result = error instanceof InvalidNodeStateError ? "invalid-state" : "error";
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

  function handleHttpRequest(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? "/").split("?")[0];
    if (path !== "/healthz" && path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response
        .writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" })
        .end("method not allowed\n");
      return;
    }
    const body =
      path === "/metrics"
        ? renderNodeAgentMetrics(status)
        : `${JSON.stringify({ status: "ok", lastApply: status.lastApply ?? null, managedFiles: status.managedFiles })}\n`;
    const type =
      path === "/metrics" ? "text/plain; version=0.0.4; charset=utf-8" : "application/json";
    response.writeHead(200, { "content-type": type, "content-length": Buffer.byteLength(body) });
    response.end(request.method === "HEAD" ? undefined : body);
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
