// Each request's access-log entry, kept on the request object itself under a symbol: a WeakMap
// entry per request costs a hash-table insert and an ephemeron the garbage collector must
// clear, on the path of every request (docs/adr/0035-request-rate-cuts.md).
import type { IncomingMessage } from "node:http";
import type { AccessLogEntry } from "./access-log.js";

const entryKey = Symbol("regmirror.access-log.entry");

type WithEntry = IncomingMessage & { [entryKey]?: AccessLogEntry };

export interface RequestEntries {
  get(request: IncomingMessage): AccessLogEntry | undefined;
  set(request: IncomingMessage, entry: AccessLogEntry): void;
}

export const requestEntries: RequestEntries = {
  get: (request) => (request as WithEntry)[entryKey],
  set: (request, entry) => {
    (request as WithEntry)[entryKey] = entry;
  },
};
