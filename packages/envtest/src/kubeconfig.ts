// Writes a kubeconfig file for one user of the test API server.

/** A kubeconfig (JSON is YAML, so kubectl and @kubernetes/client-node read it). */
export function kubeconfigFor(url: string, ca: string, username: string, token: string): string {
  const kubeconfig = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "envtest",
        cluster: { server: url, "certificate-authority-data": Buffer.from(ca).toString("base64") },
      },
    ],
    users: [{ name: username, user: { token } }],
    contexts: [
      { name: "envtest", context: { cluster: "envtest", user: username, namespace: "default" } },
    ],
    "current-context": "envtest",
  };
  return `${JSON.stringify(kubeconfig, null, 2)}\n`;
}
