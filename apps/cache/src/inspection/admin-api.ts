/**
 * The admin HTTP API under /admin/v1 (docs/adr/0029-admin-api-inspection-and-eviction.md):
 * what the cache holds (`GET repositories`), its usage (`GET usage`) and removal by hand
 * (`DELETE content?target=…`), each behind the configured admin credential (HTTP Basic).
 * Without a configured credential the API is off: it would otherwise show private repository
 * names to anyone. Answers are JSON; errors use the OCI error shape with a code and a message.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { SecretValue } from "@regmirror/schemas";
import { parseBasicAuthorization } from "../auth/basic-credentials.js";
import type { OwnRoute } from "../daemon/cache-request-handler.js";
import type { CacheInventory } from "./cache-inventory.js";
import { EvictionTargetError } from "./eviction-target.js";
import { answerWarmRequest, type WarmImage, WarmRequestError } from "./warm-endpoint.js";

export const adminApiPrefix = "/admin/v1";

export interface AdminCredential {
  readonly username: string;
  readonly password: SecretValue;
}

export interface AdminApiOptions {
  inventory: CacheInventory;
  /** null: no credential configured, the API answers 403 to everything. */
  credential: AdminCredential | null;
  /** POST warm: prefetches one image into the store. */
  warm: WarmImage;
}

function sendJson(response: ServerResponse, status: number, value: unknown, headers = {}) {
  const body = Buffer.from(`${JSON.stringify(value)}\n`);
  response.writeHead(status, {
    ...headers,
    "Content-Type": "application/json",
    "Content-Length": String(body.byteLength),
    "Cache-Control": "no-store",
  });
  response.end(body);
}

function sendError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers = {},
) {
  sendJson(response, status, { errors: [{ code, message }] }, headers);
}

function digestOf(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** The admin user of a request with the configured credential; undefined otherwise. */
export function adminUserOf(
  authorization: string | undefined,
  credential: AdminCredential,
): string | undefined {
  const given = parseBasicAuthorization(authorization);
  if (given === undefined) return undefined;
  // Compared as digests of equal length, in constant time.
  const userMatches = timingSafeEqual(digestOf(given.username), digestOf(credential.username));
  const passwordMatches = timingSafeEqual(
    digestOf(given.password),
    digestOf(credential.password.reveal()),
  );
  return userMatches && passwordMatches ? given.username : undefined;
}

/** Answers a request under /admin/v1; false for any other path. */
export function createAdminApi(options: AdminApiOptions): OwnRoute {
  const { inventory, credential, warm } = options;
  const routes: Record<
    string,
    { method: string; answer: (url: URL, user: string, request: IncomingMessage) => unknown }
  > = {
    repositories: { method: "GET", answer: () => inventory.list() },
    usage: { method: "GET", answer: () => inventory.usage() },
    content: {
      method: "DELETE",
      answer: (url, user) => inventory.evict(url.searchParams.get("target") ?? "", user),
    },
    warm: { method: "POST", answer: (_url, _user, request) => answerWarmRequest(request, warm) },
  };

  return async (request, response, path) => {
    if (path !== adminApiPrefix && !path.startsWith(`${adminApiPrefix}/`)) return false;
    if (credential === null) {
      sendError(
        response,
        403,
        "DENIED",
        "the admin API is off: configure an admin credential (regmirror.admin.password)",
      );
      return true;
    }
    const user = adminUserOf(request.headers.authorization, credential);
    if (user === undefined) {
      sendError(response, 401, "UNAUTHORIZED", "the admin credential is required", {
        "WWW-Authenticate": 'Basic realm="regmirror admin", charset="UTF-8"',
      });
      return true;
    }
    const route = routes[path.slice(adminApiPrefix.length + 1)];
    if (route === undefined) {
      sendError(
        response,
        404,
        "NOT_FOUND",
        `no such admin endpoint: ${adminApiPrefix}/repositories, /usage, /content and /warm are`,
      );
      return true;
    }
    if (request.method !== route.method) {
      sendError(response, 405, "UNSUPPORTED", `use ${route.method} for ${path}`, {
        Allow: route.method,
      });
      return true;
    }
    try {
      const url = new URL(request.url ?? "/", "http://admin");
      sendJson(response, 200, await route.answer(url, user, request));
    } catch (error) {
      if (error instanceof WarmRequestError) {
        sendError(response, error.status, error.code, error.message);
        return true;
      }
      if (!(error instanceof EvictionTargetError)) throw error;
      sendError(response, 400, error.code, error.message);
    }
    return true;
  };
}
