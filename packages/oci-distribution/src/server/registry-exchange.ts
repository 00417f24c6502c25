// What an endpoint gets for one request, and the checks every endpoint shares.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "@regmirror/core";
import { isInvalidDigestError, parseDigest } from "@regmirror/core";
import { RegistryError } from "../model/errors.js";
import type { BodyBufferPool } from "./body-buffers.js";
import type { RegistryStorage, StorageRequestContext } from "./registry-storage.js";
import type { RegistryLimits } from "./server-limits.js";

/** Everything an endpoint needs to answer one request. */
export interface RegistryExchange {
  request: IncomingMessage;
  response: ServerResponse;
  storage: RegistryStorage;
  limits: Readonly<RegistryLimits>;
  logger: Logger;
  query: URLSearchParams;
  context: StorageRequestContext;
  /** Buffers lent to blob readers (shared by the handler's responses). */
  bodyBuffers: BodyBufferPool;
}

type WriteMethod =
  | "deleteBlob"
  | "mountBlob"
  | "createUpload"
  | "uploadStatus"
  | "appendUpload"
  | "completeUpload"
  | "cancelUpload"
  | "putManifest"
  | "deleteManifest"
  | "deleteTag";

/** The storage's write method, bound; UNSUPPORTED on a read-only backend or one that lacks it. */
export function requireWritable<K extends WriteMethod>(
  storage: RegistryStorage,
  name: K,
): NonNullable<RegistryStorage[K]> {
  const method = storage[name];
  if (storage.readOnly || typeof method !== "function") {
    throw new RegistryError("UNSUPPORTED", {
      message: "this registry does not accept pushes or deletes",
    });
  }
  return (method as (...args: never[]) => unknown).bind(storage) as NonNullable<RegistryStorage[K]>;
}

// The digest almost every request names, checked without parsing it into parts (which builds
// three objects); anything else goes through parseDigest, which names what is wrong.
const sha256Digest = /^sha256:[a-f0-9]{64}$/;

/** A digest from the path or query, or DIGEST_INVALID naming what is wrong with it. */
export function requireDigest(value: string | null | undefined, where: string): string {
  if (typeof value === "string" && sha256Digest.test(value)) return value;
  if (value === null || value === undefined || value === "") {
    throw new RegistryError("DIGEST_INVALID", { message: `missing digest in ${where}` });
  }
  try {
    parseDigest(value);
    return value;
  } catch (error) {
    if (isInvalidDigestError(error)) {
      throw new RegistryError("DIGEST_INVALID", {
        message: `invalid digest in ${where}`,
        detail: { reason: error.reason },
      });
    }
    throw error;
  }
}

export function methodNotAllowed(allowed: string[]): RegistryError {
  return new RegistryError("UNSUPPORTED", {
    message: "method not allowed on this endpoint",
    responseHeaders: { Allow: allowed.join(", ") },
  });
}
