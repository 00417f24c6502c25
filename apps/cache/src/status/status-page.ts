/**
 * The status page (docs/adr/0029-admin-api-inspection-and-eviction.md): `<path>` is the HTML,
 * `<path>/data` the same snapshot as JSON, `<path>/fragment` the part the page's script swaps in
 * each second, `<path>/script.js` that script. With client auth on, the page names private
 * repositories, so it needs the admin credential (and is refused when none is configured).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { OwnRoute } from "../daemon/cache-request-handler.js";
import { type AdminCredential, adminUserOf } from "../inspection/admin-api.js";
import { renderStatusMain, renderStatusPage } from "./status-page-html.js";
import { statusPageScript } from "./status-page-script.js";
import type { StatusSnapshot } from "./status-snapshot.js";

export interface StatusPageOptions {
  path: string;
  snapshot(): Promise<StatusSnapshot>;
  /** True when clients must authenticate: the page then needs the admin credential. */
  private: boolean;
  credential: AdminCredential | null;
}

const securityHeaders = {
  "Cache-Control": "no-store",
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

function send(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  contentType: string,
  text: string,
  headers: Record<string, string> = {},
) {
  const body = Buffer.from(text);
  response.writeHead(status, {
    ...securityHeaders,
    ...headers,
    "Content-Type": contentType,
    "Content-Length": String(body.byteLength),
  });
  response.end(request.method === "HEAD" ? undefined : body);
}

const html = "text/html; charset=utf-8";

/** Answers the status page's paths; false for any other path. */
export function createStatusPage(options: StatusPageOptions): OwnRoute {
  const { path: pagePath, credential } = options;
  const subpaths = new Set(["", "/data", "/fragment", "/script.js"]);
  return async (request, response, path) => {
    if (!path.startsWith(pagePath) || !subpaths.has(path.slice(pagePath.length))) return false;
    if (request.method !== "GET" && request.method !== "HEAD") {
      send(request, response, 405, "text/plain; charset=utf-8", "use GET\n", {
        Allow: "GET, HEAD",
      });
      return true;
    }
    if (options.private) {
      if (credential === null) {
        send(
          request,
          response,
          403,
          "text/plain; charset=utf-8",
          "the status page needs an admin credential when client auth is on: configure regmirror.admin.password\n",
        );
        return true;
      }
      if (adminUserOf(request.headers.authorization, credential) === undefined) {
        send(
          request,
          response,
          401,
          "text/plain; charset=utf-8",
          "the admin credential is required\n",
          {
            "WWW-Authenticate": 'Basic realm="regmirror admin", charset="UTF-8"',
          },
        );
        return true;
      }
    }
    const rest = path.slice(pagePath.length);
    if (rest === "/script.js") {
      send(request, response, 200, "text/javascript; charset=utf-8", statusPageScript);
      return true;
    }
    const snapshot = await options.snapshot();
    if (rest === "/data") {
      send(request, response, 200, "application/json", `${JSON.stringify(snapshot)}\n`);
    } else if (rest === "/fragment") {
      send(request, response, 200, html, renderStatusMain(snapshot));
    } else {
      send(request, response, 200, html, renderStatusPage(snapshot, pagePath));
    }
    return true;
  };
}
