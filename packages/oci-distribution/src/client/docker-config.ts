/**
 * Credentials from a Docker `config.json` (the file `docker login` writes):
 * `auths[host].auth` (base64 "user:password") or `auths[host].username/password`.
 * Credential helpers (`credHelpers`, `credsStore`) are programs this client does not run; a
 * lookup that would need one fails with CREDENTIAL_HELPER_UNSUPPORTED naming the helper.
 */

import { readFile } from "node:fs/promises";
import { RegistryClientError } from "./client-errors.js";

export interface BasicCredentials {
  username: string;
  password: string;
}

/** The parts of config.json this client reads. */
export interface DockerConfig {
  auths?: Record<string, DockerConfigAuth | undefined>;
  credHelpers?: Record<string, string | undefined>;
  credsStore?: string;
}

export interface DockerConfigAuth {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** Every spelling `docker login` has used for Docker Hub. */
const DOCKER_HUB_ALIASES = new Set([
  "docker.io",
  "index.docker.io",
  "registry-1.docker.io",
  "registry.hub.docker.com",
]);

/** `https://index.docker.io/v1/` → `docker.io`; `HTTP://Reg:5000/path` → `reg:5000`. */
export function normalizeRegistryKey(key: string): string {
  const withoutScheme = key
    .trim()
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, "");
  const host = withoutScheme.split("/")[0] ?? "";
  return DOCKER_HUB_ALIASES.has(host) ? "docker.io" : host;
}

/** Reads and checks the shape of a config.json; the error never quotes the file's content. */
export async function readDockerConfig(path: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new RegistryClientError(
      "DOCKER_CONFIG_INVALID",
      `cannot read Docker config ${path}: ${(error as NodeJS.ErrnoException).code ?? "read failed"}`,
      { cause: error },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RegistryClientError("DOCKER_CONFIG_INVALID", `Docker config ${path} is not JSON`);
  }
  return checkDockerConfig(value, path);
}

export function checkDockerConfig(value: unknown, source = "dockerConfig"): DockerConfig {
  const fail = (what: string): never => {
    throw new RegistryClientError("DOCKER_CONFIG_INVALID", `${source}: ${what}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail("expected a JSON object");
  }
  const { auths, credHelpers, credsStore } = value as Record<string, unknown>;
  if (auths !== undefined && (typeof auths !== "object" || auths === null)) {
    fail("`auths` must be an object");
  }
  if (credHelpers !== undefined && (typeof credHelpers !== "object" || credHelpers === null)) {
    fail("`credHelpers` must be an object");
  }
  if (credsStore !== undefined && typeof credsStore !== "string") {
    fail("`credsStore` must be a string");
  }
  return value as DockerConfig;
}

/**
 * The credentials config.json holds for `registryHost` (a host[:port], a URL or a Docker Hub
 * alias), or undefined when it holds none and names no helper for it.
 */
export function dockerConfigCredentials(
  config: DockerConfig,
  registryHost: string,
): BasicCredentials | undefined {
  const wanted = normalizeRegistryKey(registryHost);
  for (const [key, helper] of Object.entries(config.credHelpers ?? {})) {
    if (helper && normalizeRegistryKey(key) === wanted) {
      throw helperError(wanted, helper, "credHelpers");
    }
  }
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (!entry || normalizeRegistryKey(key) !== wanted) continue;
    const credentials = entryCredentials(entry, wanted);
    if (credentials) return credentials;
  }
  // With a credsStore, `docker login` leaves only empty placeholders in `auths`.
  if (config.credsStore) throw helperError(wanted, config.credsStore, "credsStore");
  return undefined;
}

function entryCredentials(entry: DockerConfigAuth, host: string): BasicCredentials | undefined {
  if (typeof entry.auth === "string" && entry.auth !== "") {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const separator = decoded.indexOf(":");
    if (separator <= 0) {
      throw new RegistryClientError(
        "DOCKER_CONFIG_INVALID",
        `Docker config: auths entry for ${host} has an \`auth\` that is not base64 of "username:password"`,
      );
    }
    return { username: decoded.slice(0, separator), password: decoded.slice(separator + 1) };
  }
  if (typeof entry.username === "string" && typeof entry.password === "string") {
    return { username: entry.username, password: entry.password };
  }
  if (entry.identitytoken || entry.registrytoken) {
    throw new RegistryClientError(
      "DOCKER_CONFIG_INVALID",
      `Docker config: auths entry for ${host} holds an identity/registry token, which this client does not use; give a username and password`,
    );
  }
  return undefined;
}

function helperError(host: string, helper: string, key: string): RegistryClientError {
  return new RegistryClientError(
    "CREDENTIAL_HELPER_UNSUPPORTED",
    `Docker config names the credential helper "docker-credential-${helper}" (${key}) for ${host}; this client does not run credential helpers: pass credentials explicitly or add an auths entry`,
  );
}
