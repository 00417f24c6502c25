/**
 * Where the client sends requests: `registry` is a URL (`https://reg.example:5000`) or a host as
 * written in image references (`reg.example:5000`, `docker.io`). A bare host means https, except
 * loopback hosts (`localhost`, `127.0.0.1`, `[::1]`), which mean http as in Docker and containerd.
 */

import { registryApiHost } from "../model/reference.js";
import { RegistryClientError } from "./client-errors.js";

export interface ResolvedRegistry {
  /** `https://host[:port]` with no path. */
  baseUrl: URL;
  /** The host as the user named it: the key for Docker config credentials. */
  credentialsKey: string;
}

const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/i;

export function resolveRegistry(registry: string): ResolvedRegistry {
  const fail = (why: string): never => {
    // Never echo user info: a URL may carry a password.
    const shown = String(registry).replace(/\/\/[^/@]*@/, "//***@");
    throw new RegistryClientError("INVALID_OPTIONS", `registry ${JSON.stringify(shown)}: ${why}`);
  };
  if (typeof registry !== "string" || registry.trim() === "")
    return fail("expected a URL or a host");
  const trimmed = registry.trim();
  let url: URL;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    try {
      url = new URL(trimmed);
    } catch {
      return fail("not a valid URL");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      return fail("only http and https are supported");
    if (url.pathname !== "/" && url.pathname !== "")
      return fail("the registry API lives at the root: drop the path");
    if (url.username || url.password)
      return fail("put credentials in `credentials`, not in the URL");
    if (url.search || url.hash) return fail("a query or fragment has no meaning here");
  } else {
    if (trimmed.includes("/")) return fail("a host must not contain '/' (give a URL instead)");
    const host = registryApiHost(trimmed);
    const scheme = LOOPBACK_HOST.test(host) ? "http" : "https";
    try {
      url = new URL(`${scheme}://${host}`);
    } catch {
      return fail("not a valid host");
    }
  }
  // Credentials are looked up by host: `https://Reg:5000/` and `reg:5000` find the same entry.
  const givenAsUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed);
  return { baseUrl: new URL(url.origin), credentialsKey: givenAsUrl ? url.host : trimmed };
}
