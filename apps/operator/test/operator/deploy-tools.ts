// The shipped manifests as the tests use them: `kustomize build` and `helm template` (both built
// by the test command), applied to the test's API server; a kubeconfig for a ServiceAccount, so
// the operator runs with exactly the rights the manifests grant; and the bundled binary.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { toolPath } from "@regmirror/test-kit";
import { build } from "tsup";
import { parseAllDocuments } from "yaml";
import { type OperatorCluster, repositoryRoot } from "./operator-cluster.js";

const run = promisify(execFile);

export function yamlDocuments(yaml: string): KubeObject[] {
  return parseAllDocuments(yaml)
    .map((document) => document.toJS() as KubeObject | null)
    .filter((document): document is KubeObject => document !== null);
}

/** Server-side applies every object (idempotent), as `kubectl apply --server-side` would. */
export async function applyAll(
  cluster: OperatorCluster,
  objects: readonly KubeObject[],
  fieldManager: string,
): Promise<void> {
  for (const object of objects) await cluster.client.apply(object, { fieldManager, force: true });
}

/** `kustomize build deploy/kustomize/base`. */
export async function kustomizeBase(): Promise<KubeObject[]> {
  const { stdout } = await run(toolPath("kustomize"), [
    "build",
    join(repositoryRoot, "deploy/kustomize/base"),
  ]);
  return yamlDocuments(stdout);
}

/** `helm template RELEASE deploy/helm/regmirror-operator ARGS...`, with helm's files in `home`. */
export async function helmTemplate(
  home: string,
  release: string,
  args: readonly string[],
): Promise<KubeObject[]> {
  const { stdout } = await run(
    toolPath("helm"),
    [
      "template",
      release,
      join(repositoryRoot, "deploy/helm/regmirror-operator"),
      // The API server the tests run; helm's own default (built with go install) is v1.20.
      "--kube-version",
      "1.36.3",
      ...args,
    ],
    {
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(home, "helm-cache"),
        HELM_CONFIG_HOME: join(home, "helm-config"),
        HELM_DATA_HOME: join(home, "helm-data"),
      },
    },
  );
  return yamlDocuments(stdout);
}

/** A kubeconfig with a token of the ServiceAccount: the operator gets its RBAC, no more. */
export async function serviceAccountKubeConfig(
  cluster: OperatorCluster,
  serviceAccount: string,
  namespace: string,
): Promise<KubeConfig> {
  const answer = await cluster.client.api.request<{ status: { token: string } }>({
    method: "POST",
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
    body: {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 3600 },
    },
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name: "test",
        server: cluster.server.url,
        caData: Buffer.from(cluster.server.ca).toString("base64"),
      },
    ],
    users: [{ name: serviceAccount, token: answer.status.token }],
    contexts: [{ name: "test", cluster: "test", user: serviceAccount }],
    currentContext: "test",
  });
  return kubeConfig;
}

/** The regmirror-operator binary bundled as dist/main.js would be; remove() deletes it. */
export async function bundleOperatorBinary(): Promise<{ main: string; remove(): Promise<void> }> {
  const appDirectory = join(import.meta.dirname, "../..");
  // Inside the app, so the bundle's npm imports resolve from its node_modules.
  const directory = join(
    appDirectory,
    "node_modules/.cache",
    `operator-cli-test-${randomBytes(4).toString("hex")}`,
  );
  await build({
    config: false,
    entry: { main: join(appDirectory, "src/main.ts") },
    outDir: directory,
    format: ["esm"],
    platform: "node",
    target: "node22",
    silent: true,
    noExternal: [/^@regmirror\//],
    esbuildOptions(options) {
      options.conditions = ["@regmirror/source"];
    },
  });
  return {
    main: join(directory, "main.js"),
    remove: () => rm(directory, { recursive: true, force: true }),
  };
}
