// Watch streams: JSON lines parsed into events, and the errors they carry.
import { KubernetesApiError, ReconcilerError } from "./errors.js";
import type { KubeObject } from "./kubernetes-object.js";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
}

const eventTypes = new Set<string>(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]);

/** Parses one line of a watch stream (one JSON object per line). */
export function parseWatchLine(line: string): WatchEvent {
  let parsed: { type?: unknown; object?: unknown };
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch {
    throw new ReconcilerError(
      "BAD_RESPONSE",
      `the watch stream sent a line that is not JSON: ${line.slice(0, 80)}`,
    );
  }
  if (
    typeof parsed.type !== "string" ||
    !eventTypes.has(parsed.type) ||
    typeof parsed.object !== "object"
  ) {
    throw new ReconcilerError(
      "BAD_RESPONSE",
      `the watch stream sent an unknown event: ${line.slice(0, 80)}`,
    );
  }
  return { type: parsed.type as WatchEventType, object: (parsed.object ?? {}) as KubeObject };
}

/** The error an ERROR event carries (a Status object: 410 Expired means "relist"). */
export function watchErrorOf(event: WatchEvent, request: string): KubernetesApiError {
  const status = event.object as { code?: number; reason?: string; message?: string };
  return new KubernetesApiError(
    status.code ?? 500,
    status.reason,
    request,
    status.message ?? "watch error",
  );
}

/**
 * Reads a watch body to its end, calling `onEvent` per event and `onBytes` whenever bytes
 * arrive (the watchdog's heartbeat). Resolves when the server ends the stream.
 */
export async function readWatchStream(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: WatchEvent) => void,
  onBytes: () => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onBytes();
      pending += decoder.decode(value, { stream: true });
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line !== "") onEvent(parseWatchLine(line));
        newline = pending.indexOf("\n");
      }
    }
    if (pending.trim() !== "") onEvent(parseWatchLine(pending.trim()));
  } finally {
    // Cancelling the reader cancels the HTTP body, releasing the connection.
    await reader.cancel().catch(() => {});
  }
}
