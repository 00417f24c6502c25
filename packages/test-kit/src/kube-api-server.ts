// A real Kubernetes API server on loopback, envtest style: etcd + kube-apiserver, no kubelet,
// no controller manager (docs/adr/0008-kubernetes-api-server-for-tests.md).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Agent, fetch } from "undici";
import { makeCertificateAuthority } from "./certificates.js";
import { freePort } from "./free-port.js";
import { startTrackedProcess, type TrackedProcess, waitUntilReady } from "./processes.js";
import { makeTempDirectory, removeTempDirectory } from "./temp-directory.js";
import { toolPath } from "./tool-path.js";

/** A user the API server knows by a static bearer token. */
export interface KubeApiServerUser {
  username: string;
  token: string;
  groups: string[];
  /** A kubeconfig for this user, for `KubeConfig.loadFromFile` of @kubernetes/client-node. */
  kubeconfigPath: string;
}

export interface KubeApiServer {
  /** `https://127.0.0.1:PORT`; the same across `restart()`. */
  url: string;
  /** Bearer token of the admin user (group system:masters: RBAC lets it do everything). */
  token: string;
  /** PEM of the CA that issued the serving certificate. */
  ca: string;
  /** A kubeconfig for the admin user. */
  kubeconfigPath: string;
  /** A user with no rights until a test grants them with RBAC objects (least-privilege tests). */
  unprivilegedUser: KubeApiServerUser;
  /**
   * Stops kube-apiserver gracefully (SIGTERM: open watches end, connections close) and starts it
   * again on the same port, keeping etcd and its data; takes a few seconds.
   */
  restart(): Promise<void>;
  /** The PIDs of etcd and kube-apiserver (e.g. to measure their memory). */
  processIds(): Record<"etcd" | "kube-apiserver", number>;
  /** Stops kube-apiserver and etcd and removes their files; idempotent. */
  stop(): Promise<void>;
}

export interface KubeApiServerOptions {
  /** More kube-apiserver flags, e.g. `--feature-gates=...`; they come after the kit's own. */
  extraArgs?: string[];
  /** How long to wait for etcd and for `/readyz`; default 120 s (2 shared cores are slow). */
  timeoutMs?: number;
  /**
   * For a cluster with a node (startKubeNode): the address pods reach the API server at. The
   * `kubernetes` Service then points there (it may not point at loopback), and ServiceAccount
   * admission is on (a controller manager makes the `default` accounts pods need).
   */
  nodeFacingAddress?: string;
}

const adminName = "regmirror-test-admin";
const unprivilegedName = "regmirror-test-unprivileged";
/** Where Services get their ClusterIPs. */
export const serviceClusterIpRange = "10.0.0.0/24";
// The first address of the service range: the ClusterIP of the `kubernetes` Service.
const kubernetesServiceIp = "10.0.0.1";

/**
 * Starts etcd and kube-apiserver (both built by the test command, see scripts/go-tools.json)
 * on free ports of 127.0.0.1; call `stop()` in afterAll. Authentication: static bearer tokens;
 * authorization: RBAC, so Roles and bindings a test applies are enforced for real.
 */
export async function startKubeApiServer(
  options: KubeApiServerOptions = {},
): Promise<KubeApiServer> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const etcdBinary = toolPath("etcd");
  const apiServerBinary = toolPath("kube-apiserver");
  const directory = makeTempDirectory("kube-api-server-");
  let etcd: TrackedProcess | undefined;
  let apiServer: TrackedProcess | undefined;
  let agent: Agent | undefined;
  const stopAll = async () => {
    await apiServer?.stop(15_000);
    await etcd?.stop();
    await agent?.close();
    await removeTempDirectory(directory);
  };
  try {
    const etcdUrl = await startEtcd(etcdBinary, join(directory, "etcd"), timeoutMs);
    etcd = etcdUrl.process;
    const files = await writeApiServerFiles(directory);
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    const forNode = options.nodeFacingAddress !== undefined;
    const args = [
      `--etcd-servers=${etcdUrl.url}`,
      "--bind-address=127.0.0.1",
      `--advertise-address=${options.nodeFacingAddress ?? "127.0.0.1"}`,
      `--secure-port=${port}`,
      `--tls-cert-file=${files.servingCertificate}`,
      `--tls-private-key-file=${files.servingKey}`,
      `--token-auth-file=${files.tokens}`,
      "--authorization-mode=RBAC",
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      `--service-account-issuer=${url}`,
      `--service-account-key-file=${files.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${files.serviceAccountKey}`,
      ...(forNode
        ? []
        : [
            // The `kubernetes` Endpoints may not point at loopback: do not maintain them.
            "--endpoint-reconciler-type=none",
            // No controller manager creates the `default` ServiceAccounts this plugin insists on.
            "--disable-admission-plugins=ServiceAccount",
          ]),
      // Operators run privileged node agents (DaemonSets); let their templates validate.
      "--allow-privileged=true",
      "--profiling=false",
      // A graceful shutdown otherwise waits for every open watch until the SIGKILL below (15 s).
      // With a grace period the server ends its watch streams cleanly and exits in about a
      // second: the rolling restart a real cluster does, which clients must survive.
      "--shutdown-watch-termination-grace-period=1s",
      ...(options.extraArgs ?? []),
    ];
    agent = new Agent({ connect: { ca: files.ca } });
    const readyAgent = agent;
    const startApiServer = async () => {
      apiServer = startTrackedProcess({
        name: "kube-apiserver",
        command: apiServerBinary,
        args,
        cwd: directory,
      });
      await waitUntilReady(
        `kube-apiserver on ${url}`,
        async () => {
          const response = await fetch(`${url}/readyz`, {
            headers: { authorization: `Bearer ${files.adminToken}` },
            dispatcher: readyAgent,
          });
          const body = await response.text();
          return response.status === 200 && body === "ok";
        },
        { process: apiServer, timeoutMs },
      );
    };
    await startApiServer();

    const kubeconfigPath = writeKubeconfig(
      join(directory, "admin.kubeconfig"),
      url,
      files.ca,
      adminName,
      files.adminToken,
    );
    const unprivilegedUser: KubeApiServerUser = {
      username: unprivilegedName,
      token: files.unprivilegedToken,
      groups: [],
      kubeconfigPath: writeKubeconfig(
        join(directory, "unprivileged.kubeconfig"),
        url,
        files.ca,
        unprivilegedName,
        files.unprivilegedToken,
      ),
    };
    let stopping: Promise<void> | undefined;
    return {
      url,
      token: files.adminToken,
      ca: files.ca,
      kubeconfigPath,
      unprivilegedUser,
      async restart() {
        await apiServer?.stop(15_000);
        await startApiServer();
      },
      processIds: () => ({ etcd: etcd?.pid ?? -1, "kube-apiserver": apiServer?.pid ?? -1 }),
      stop() {
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function startEtcd(
  binary: string,
  dataDirectory: string,
  timeoutMs: number,
): Promise<{ url: string; process: TrackedProcess }> {
  const clientUrl = `http://127.0.0.1:${await freePort()}`;
  const peerUrl = `http://127.0.0.1:${await freePort()}`;
  const etcd = startTrackedProcess({
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
  });
  try {
    await waitUntilReady(
      `etcd on ${clientUrl}`,
      async () => {
        const response = await fetch(`${clientUrl}/health`);
        const body = await response.text();
        return response.ok && (JSON.parse(body) as { health?: string }).health === "true";
      },
      { process: etcd, timeoutMs },
    );
  } catch (error) {
    await etcd.stop();
    throw error;
  }
  return { url: clientUrl, process: etcd };
}

interface ApiServerFiles {
  ca: string;
  servingCertificate: string;
  servingKey: string;
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
  tokens: string;
  adminToken: string;
  unprivilegedToken: string;
}

async function writeApiServerFiles(directory: string): Promise<ApiServerFiles> {
  const pki = join(directory, "pki");
  mkdirSync(pki, { recursive: true });
  const authority = await makeCertificateAuthority({
    commonName: "regmirror test kube-apiserver CA",
  });
  const serving = await authority.issueServerCertificate([
    "127.0.0.1",
    "localhost",
    kubernetesServiceIp,
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
  ]);
  const files = {
    servingCertificate: join(pki, "serving.crt"),
    servingKey: join(pki, "serving.key"),
    serviceAccountKey: join(pki, "service-account.key"),
    serviceAccountPublicKey: join(pki, "service-account.pub"),
    tokens: join(pki, "tokens.csv"),
  };
  writeFileSync(files.servingCertificate, serving.certificatePem);
  writeFileSync(files.servingKey, serving.keyPem, { mode: 0o600 });
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  writeFileSync(files.serviceAccountKey, privateKey.export({ type: "pkcs8", format: "pem" }), {
    mode: 0o600,
  });
  writeFileSync(files.serviceAccountPublicKey, publicKey.export({ type: "spki", format: "pem" }));
  const adminToken = randomBytes(24).toString("hex");
  const unprivilegedToken = randomBytes(24).toString("hex");
  // token,user,uid,"group1,group2" (the static token file format).
  writeFileSync(
    files.tokens,
    `${adminToken},${adminName},${adminName},"system:masters"\n${unprivilegedToken},${unprivilegedName},${unprivilegedName}\n`,
    { mode: 0o600 },
  );
  return { ...files, ca: authority.certificatePem, adminToken, unprivilegedToken };
}

/** JSON is YAML, so @kubernetes/client-node's loadFromFile reads this as a kubeconfig. */
function writeKubeconfig(
  path: string,
  url: string,
  ca: string,
  username: string,
  token: string,
): string {
  const kubeconfig = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "regmirror-test",
        cluster: { server: url, "certificate-authority-data": Buffer.from(ca).toString("base64") },
      },
    ],
    users: [{ name: username, user: { token } }],
    contexts: [
      {
        name: "regmirror-test",
        context: { cluster: "regmirror-test", user: username, namespace: "default" },
      },
    ],
    "current-context": "regmirror-test",
  };
  writeFileSync(path, `${JSON.stringify(kubeconfig, null, 2)}\n`, { mode: 0o600 });
  return path;
}
