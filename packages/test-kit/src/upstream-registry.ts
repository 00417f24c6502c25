// docker-registry as the real upstream: anonymous, htpasswd, token or TLS.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@regmirror/core";
import { hashSync } from "bcryptjs";
import { makeCertificateAuthority } from "./certificates.js";
import { assertPortFree, freePort, retryOnAddressInUse } from "./free-port.js";
import { httpGetStatus } from "./http-probe.js";
import { kitLogger } from "./kit-logger.js";
import { startTrackedProcess, waitUntilReady } from "./processes.js";
import { makeTempDirectory, removeTempDirectory } from "./temp-directory.js";
import { startTokenIssuer, type TokenIssuer } from "./token-issuer.js";

export type RegistryAuthMode = "none" | "htpasswd" | "token";
export type RepositoryAction = "pull" | "push";

/** A user of the upstream; `repositories` maps a repository name (or "*") to what the user may do. */
export interface TestUser {
  username: string;
  password: string;
  /** Only for auth "token"; htpasswd users may do everything. Default: { "*": ["pull", "push"] }. */
  repositories?: Record<string, RepositoryAction[]>;
}

export interface UpstreamRegistryOptions {
  auth?: RegistryAuthMode;
  tls?: boolean;
  /** Default: one user "tester" / "tester-password" with all rights. */
  users?: TestUser[];
  /** Token auth: what a client without credentials may do. Default: nothing. */
  anonymousRepositories?: Record<string, RepositoryAction[]>;
  /** Listen on this port instead of a free one (fails clearly when it is in use). */
  port?: number;
  /** Told when the free port was taken before the registry bound it; default stderr. */
  logger?: Logger;
}

export interface UpstreamRegistry {
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  url: string;
  /** `127.0.0.1:PORT`, as used in image references. */
  host: string;
  port: number;
  auth: RegistryAuthMode;
  rootDirectory: string;
  users: TestUser[];
  /** PEM of the CA that issued the registry's certificate, when tls. */
  ca?: string;
  tokenIssuer?: TokenIssuer;
  stop(): Promise<void>;
}

export const defaultTestUsers: TestUser[] = [
  { username: "tester", password: "tester-password", repositories: { "*": ["pull", "push"] } },
];

/**
 * The htpasswd file distribution reads: bcrypt only. Cost 4 (the minimum) because the
 * registry checks the hash on every request and these passwords protect nothing.
 */
export function htpasswdFile(users: TestUser[]): string {
  return users.map((user) => `${user.username}:${hashSync(user.password, 4)}\n`).join("");
}

/**
 * Starts a real `docker-registry serve` on 127.0.0.1; call `stop()` in afterAll. On a free port
 * unless `port` is given: started again on another one when that port is taken before the
 * registry binds it.
 */
export async function startUpstreamRegistry(
  options: UpstreamRegistryOptions = {},
): Promise<UpstreamRegistry> {
  const { port } = options;
  if (port !== undefined) {
    await assertPortFree(port, "startUpstreamRegistry");
    return await startRegistryOn(port, options);
  }
  return await retryOnAddressInUse(
    "docker-registry",
    async () => startRegistryOn(await freePort(), options),
    { logger: options.logger ?? kitLogger },
  );
}

async function startRegistryOn(
  port: number,
  options: UpstreamRegistryOptions,
): Promise<UpstreamRegistry> {
  const auth = options.auth ?? "none";
  const users = options.users ?? defaultTestUsers;
  const rootDirectory = makeTempDirectory("regmirror-registry-");
  const cleanups: (() => Promise<void>)[] = [() => removeTempDirectory(rootDirectory)];
  let stopped: Promise<void> | undefined;
  /** Stops what was started, newest first, once: `stop()` and a failed start share it. */
  const runCleanups = () => {
    stopped ??= (async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    })();
    return stopped;
  };

  try {
    const config: Record<string, unknown> = {
      version: 0.1,
      log: { level: "warn", accesslog: { disabled: true } },
      storage: {
        filesystem: { rootdirectory: join(rootDirectory, "data") },
        delete: { enabled: true },
      },
      http: { addr: `127.0.0.1:${port}`, headers: { "X-Content-Type-Options": ["nosniff"] } },
    };
    let ca: string | undefined;
    if (options.tls) {
      const authority = await makeCertificateAuthority({
        commonName: "regmirror test registry CA",
      });
      const server = await authority.issueServerCertificate(["127.0.0.1", "localhost"]);
      await writeFile(join(rootDirectory, "server.crt"), server.certificatePem);
      await writeFile(join(rootDirectory, "server.key"), server.keyPem, { mode: 0o600 });
      (config.http as Record<string, unknown>).tls = {
        certificate: join(rootDirectory, "server.crt"),
        key: join(rootDirectory, "server.key"),
      };
      ca = authority.certificatePem;
    }
    let tokenIssuer: TokenIssuer | undefined;
    if (auth === "htpasswd") {
      await writeFile(join(rootDirectory, "htpasswd"), htpasswdFile(users), { mode: 0o600 });
      config.auth = {
        htpasswd: { realm: "regmirror-test", path: join(rootDirectory, "htpasswd") },
      };
    } else if (auth === "token") {
      tokenIssuer = await startTokenIssuer({
        users,
        anonymousRepositories: options.anonymousRepositories,
        service: "regmirror-test-registry",
        issuer: "regmirror-test-token-issuer",
      });
      const issuer = tokenIssuer;
      cleanups.push(() => issuer.stop());
      await writeFile(join(rootDirectory, "token-roots.pem"), tokenIssuer.rootCertificateBundlePem);
      config.auth = {
        token: {
          realm: tokenIssuer.realm,
          service: tokenIssuer.service,
          issuer: tokenIssuer.issuer,
          rootcertbundle: join(rootDirectory, "token-roots.pem"),
        },
      };
    }
    // JSON is YAML, so the config needs no YAML library.
    const configPath = join(rootDirectory, "config.yml");
    await writeFile(configPath, JSON.stringify(config, null, 2));

    const registry = startTrackedProcess({
      name: "docker-registry",
      command: "docker-registry",
      args: ["serve", configPath],
      cwd: rootDirectory,
    });
    cleanups.push(() => registry.stop());
    const scheme = options.tls ? "https" : "http";
    const url = `${scheme}://127.0.0.1:${port}`;
    // Any HTTP answer on /v2/ (200, or 401 with auth) means the registry is serving.
    await waitUntilReady(
      `docker-registry on ${url}`,
      async () => (await httpGetStatus(`${url}/v2/`, { ca })) > 0,
      {
        process: registry,
      },
    );

    return {
      url,
      host: `127.0.0.1:${port}`,
      port,
      auth,
      rootDirectory,
      users,
      ...(ca === undefined ? {} : { ca }),
      ...(tokenIssuer === undefined ? {} : { tokenIssuer }),
      stop: runCleanups,
    };
  } catch (error) {
    await runCleanups();
    throw error;
  }
}
