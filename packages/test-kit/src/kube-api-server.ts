// A real Kubernetes API server on loopback for this repository's tests: @regmirror/envtest with
// the etcd and kube-apiserver the test command builds (docs/adr/0008, docs/adr/0025).
import {
  type KubeApiServerOptions as EnvtestOptions,
  type KubeApiServer,
  startKubeApiServer as startEnvtest,
} from "@regmirror/envtest";
import { kitLogger } from "./kit-logger.js";
import { toolPath } from "./tool-path.js";

export type { KubeApiServer, KubeApiServerUser } from "@regmirror/envtest";

export type KubeApiServerOptions = Pick<
  EnvtestOptions,
  "extraArgs" | "timeoutMs" | "advertiseAddress" | "logger"
>;

/**
 * Starts etcd and kube-apiserver (both built by the test command, see scripts/go-tools.json)
 * on free ports of 127.0.0.1; call `stop()` in afterAll. Authentication: static bearer tokens;
 * authorization: RBAC, so Roles and bindings a test applies are enforced for real.
 */
export function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  return startEnvtest({
    ...options,
    logger: options.logger ?? kitLogger,
    binaries: { etcd: toolPath("etcd"), kubeApiServer: toolPath("kube-apiserver") },
  });
}

/**
 * kubeconfig options (`KubeConfig.loadFromOptions`) for an API server reached through the fault
 * proxy at `proxyUrl`, as the admin `token`: plain HTTP to the proxy on loopback, which
 * client-node allows only with TLS checks off.
 */
export function kubeConfigThroughProxy(proxyUrl: string, token: string) {
  return {
    clusters: [{ name: "proxied", server: proxyUrl, skipTLSVerify: true }],
    users: [{ name: "admin", token }],
    contexts: [{ name: "proxied", cluster: "proxied", user: "admin" }],
    currentContext: "proxied",
  };
}
