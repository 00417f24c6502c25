// A real Kubernetes API server for a test: etcd + kube-apiserver on loopback, no kubelet and no
// controller manager (controller-runtime's envtest set-up, for Node).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, silentLogger } from "@regmirror/core";
import { type EnvtestBinaries, resolveBinaries } from "./binaries.js";
import { type ServerProcess, startServerProcess, waitUntilReady } from "./child-process.js";
import { EnvtestError } from "./errors.js";
import { kubeconfigFor } from "./kubeconfig.js";
import { freePort, probe } from "./loopback.js";
import { retryOnAddressInUse } from "./port-conflict.js";

/** A user the API server knows by a static bearer token. */
export interface KubeApiServerUser {
  username: string;
  token: string;
  groups: string[];
  /** A kubeconfig for this user (`KubeConfig.loadFromFile`, or `KUBECONFIG` for kubectl). */
  kubeconfigPath: string;
}

export interface KubeApiServer {
  /** `https://127.0.0.1:PORT`; the same across `restart()`. */
  url: string;
  /** Bearer token of the admin user (group system:masters: RBAC lets it do everything). */
  token: string;
  /** PEM of the certificates to trust for `url` (the API server's self-signed CA). */
  ca: string;
  /** A kubeconfig for the admin user. */
  kubeconfigPath: string;
  /** A user with no rights until the test grants some with RBAC objects. */
  unprivilegedUser: KubeApiServerUser;
  /**
   * Stops kube-apiserver gracefully (open watches end, connections close) and starts it again
   * on the same URL, keeping etcd and its data: what clients see in a rolling restart.
   */
  restart(): Promise<void>;
  /** The process ids of etcd and kube-apiserver (e.g. to measure their memory). */
  processIds(): { etcd: number; kubeApiServer: number };
  /** Stops both servers and removes their files; idempotent. */
  stop(): Promise<void>;
}

export interface KubeApiServerOptions {
  /** Paths of the binaries; see the README for the variables tried when left out. */
  binaries?: Partial<EnvtestBinaries>;
  /** Where `TEST_ASSET_*` and `KUBEBUILDER_ASSETS` are read; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** More kube-apiserver flags, e.g. `--feature-gates=...`; they come after the defaults. */
  extraArgs?: string[];
  /** How long to wait for each server to become ready; default 120 s. */
  timeoutMs?: number;
  /**
   * The address the API server advertises (the endpoint of the `kubernetes` Service). Left out:
   * 127.0.0.1, and then it maintains no `kubernetes` Endpoints (they may not point at loopback)
   * and ServiceAccount admission is off (no controller manager creates `default` accounts). Give
   * an address pods can reach when the test also runs a controller manager and a kubelet: both
   * are then on, as in a cluster. The serving certificate names it either way.
   */
  advertiseAddress?: string;
  /**
   * Told (a warning) when another process took a port between its pick and the server's bind,
   * and the server starts again on new ports; default silent.
   */
  logger?: Logger;
}

const adminName = "envtest-admin";
const unprivilegedName = "envtest-unprivileged";
const serviceClusterIpRange = "10.0.0.0/24";

/**
 * Starts etcd and kube-apiserver on free ports of 127.0.0.1; call `stop()` when the test is
 * done (a process exit or SIGTERM / SIGINT kills both at the latest). Authentication: static
 * bearer tokens; authorization: RBAC, so Roles and bindings a test creates are enforced.
 */
export async function startKubeApiServer(
  options: KubeApiServerOptions = {},
): Promise<KubeApiServer> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new EnvtestError(
      "INVALID_OPTIONS",
      `timeoutMs must be a positive number, got ${timeoutMs}`,
    );
  }
  const binaries = resolveBinaries(options.binaries, options.env ?? process.env);
  const directory = mkdtempSync(join(tmpdir(), "envtest-"));
  let etcd: ServerProcess | undefined;
  let apiServer: ServerProcess | undefined;
  let stopping: Promise<void> | undefined;
  /** Stops both servers and removes their files, once: `stop()` and a failed start share it. */
  const stopAll = () => {
    stopping ??= (async () => {
      await apiServer?.stop(15_000);
      await etcd?.stop();
      rmSync(directory, { recursive: true, force: true, maxRetries: 3 });
    })();
    return stopping;
  };
  const retry = { logger: options.logger ?? silentLogger };
  try {
    const etcdStarted = await retryOnAddressInUse(
      "etcd",
      () => startEtcd(binaries.etcd, directory, timeoutMs),
      retry,
    );
    etcd = etcdStarted.process;
    const files = writeApiServerFiles(directory);
    const certificateFile = join(files.certificateDirectory, "apiserver.crt");
    let url = "";
    let ca = "";
    const startApiServer = async (port: number) => {
      const started = startServerProcess({
        name: "kube-apiserver",
        command: binaries.kubeApiServer,
        args: apiServerArgs(port, etcdStarted.url, files, options),
        cwd: directory,
      });
      apiServer = started;
      url = `https://127.0.0.1:${port}`;
      await waitUntilReady(
        `kube-apiserver on ${url}`,
        async () => {
          if (!existsSync(certificateFile)) return false;
          ca = readFileSync(certificateFile, "utf8");
          const answer = await probe(`${url}/readyz`, { ca, token: files.adminToken });
          return answer.status === 200 && answer.body === "ok";
        },
        { process: started, timeoutMs },
      );
    };
    // A restart keeps the port (clients keep the URL), so only the first start may move.
    const port = await retryOnAddressInUse(
      "kube-apiserver",
      async () => {
        const candidate = await freePort();
        await startApiServer(candidate);
        return candidate;
      },
      retry,
    );

    const writeKubeconfig = (name: string, username: string, token: string) => {
      const path = join(directory, `${name}.kubeconfig`);
      writeFileSync(path, kubeconfigFor(url, ca, username, token), { mode: 0o600 });
      return path;
    };
    return {
      url,
      token: files.adminToken,
      ca,
      kubeconfigPath: writeKubeconfig("admin", adminName, files.adminToken),
      unprivilegedUser: {
        username: unprivilegedName,
        token: files.unprivilegedToken,
        groups: [],
        kubeconfigPath: writeKubeconfig("unprivileged", unprivilegedName, files.unprivilegedToken),
      },
      async restart() {
        await apiServer?.stop(15_000);
        await startApiServer(port);
      },
      processIds: () => ({ etcd: etcd?.pid ?? -1, kubeApiServer: apiServer?.pid ?? -1 }),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function startEtcd(
  binary: string,
  directory: string,
  timeoutMs: number,
): Promise<{ url: string; process: ServerProcess }> {
  const clientUrl = `http://127.0.0.1:${await freePort()}`;
  const peerUrl = `http://127.0.0.1:${await freePort()}`;
  const dataDirectory = join(directory, "etcd");
  // A start that lost its port may have begun a member there: every start begins empty.
  rmSync(dataDirectory, { recursive: true, force: true });
  const etcd = startServerProcess({
    name: "etcd",
    command: binary,
    args: [
      "--name=default",
      `--data-dir=${dataDirectory}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      // Test data is thrown away: skipping fsync makes every write much cheaper.
      "--unsafe-no-fsync",
      "--log-level=warn",
    ],
    cwd: directory,
  });
  try {
    await waitUntilReady(
      `etcd on ${clientUrl}`,
      async () => {
        const answer = await probe(`${clientUrl}/health`);
        return (
          answer.status === 200 &&
          (JSON.parse(answer.body) as { health?: string }).health === "true"
        );
      },
      { process: etcd, timeoutMs },
    );
  } catch (error) {
    await etcd.stop();
    throw error;
  }
  return { url: clientUrl, process: etcd };
}

function apiServerArgs(
  port: number,
  etcdUrl: string,
  files: ApiServerFiles,
  options: KubeApiServerOptions,
): string[] {
  return [
    `--etcd-servers=${etcdUrl}`,
    "--bind-address=127.0.0.1",
    `--advertise-address=${options.advertiseAddress ?? "127.0.0.1"}`,
    `--secure-port=${port}`,
    // No --tls-cert-file: kube-apiserver makes a self-signed CA and serving certificate here.
    `--cert-dir=${files.certificateDirectory}`,
    `--token-auth-file=${files.tokens}`,
    "--authorization-mode=RBAC",
    `--service-cluster-ip-range=${serviceClusterIpRange}`,
    `--service-account-issuer=https://127.0.0.1:${port}`,
    `--service-account-key-file=${files.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${files.serviceAccountKey}`,
    ...(options.advertiseAddress === undefined
      ? [
          // The `kubernetes` Endpoints may not point at loopback: do not maintain them.
          "--endpoint-reconciler-type=none",
          // No controller manager creates the `default` ServiceAccounts this plugin insists on.
          "--disable-admission-plugins=ServiceAccount",
        ]
      : []),
    // Operators run privileged node agents (DaemonSets); let their templates validate.
    "--allow-privileged=true",
    "--profiling=false",
    // Without a grace period a graceful stop waits for every open watch (up to the SIGKILL).
    "--shutdown-watch-termination-grace-period=1s",
    ...(options.extraArgs ?? []),
  ];
}

type ApiServerFiles = ReturnType<typeof writeApiServerFiles>;

function writeApiServerFiles(directory: string) {
  const certificateDirectory = join(directory, "pki");
  mkdirSync(certificateDirectory, { recursive: true });
  const files = {
    certificateDirectory,
    serviceAccountKey: join(certificateDirectory, "service-account.key"),
    serviceAccountPublicKey: join(certificateDirectory, "service-account.pub"),
    tokens: join(certificateDirectory, "tokens.csv"),
    adminToken: randomBytes(24).toString("hex"),
    unprivilegedToken: randomBytes(24).toString("hex"),
  };
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  writeFileSync(files.serviceAccountKey, privateKey.export({ type: "pkcs8", format: "pem" }), {
    mode: 0o600,
  });
  writeFileSync(files.serviceAccountPublicKey, publicKey.export({ type: "spki", format: "pem" }));
  // token,user,uid,"group1,group2" (the static token file format).
  writeFileSync(
    files.tokens,
    `${files.adminToken},${adminName},${adminName},"system:masters"\n${files.unprivilegedToken},${unprivilegedName},${unprivilegedName}\n`,
    { mode: 0o600 },
  );
  return files;
}
