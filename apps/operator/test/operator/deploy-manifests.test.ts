// The shipped deployment manifests on a real API server: the kustomize base applied for real,
// then the operator run with the ServiceAccount token it grants (so its RBAC is enough, and no
// more is assumed), and the Helm chart rendered and applied with a server-side dry run.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { makeTempDirectory, removeTempDirectory, toolPath } from "@regmirror/test-kit";
import { build } from "tsup";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  capturingLogger,
  conditionOf,
  eventually,
  get,
  getMirror,
  type Json,
  mirrorApi,
  type OperatorCluster,
  operatorNamespace,
  patchDaemonSetRolledOut,
  repositoryRoot,
  startOperatorCluster,
} from "./operator-cluster.js";

const run = promisify(execFile);
let cluster: OperatorCluster;
let child: ChildProcess | undefined;
let temporary: string | undefined;
const appDirectory = join(import.meta.dirname, "../..");
// Inside the app, so the bundle's npm imports resolve from its node_modules.
const bundleDirectory = join(
  appDirectory,
  "node_modules/.cache",
  `operator-cli-test-${randomBytes(4).toString("hex")}`,
);

beforeAll(async () => {
  cluster = await startOperatorCluster();
  temporary = makeTempDirectory("operator-cli-");
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill("SIGKILL");
    await new Promise((resolve) => child?.once("exit", resolve));
  }
  await rm(bundleDirectory, { recursive: true, force: true });
  if (temporary) await removeTempDirectory(temporary);
  await cluster?.stop();
});

function documents(yaml: string): KubeObject[] {
  return parseAllDocuments(yaml)
    .map((document) => document.toJS() as KubeObject | null)
    .filter((document): document is KubeObject => document !== null);
}

/** `kustomize build` of the base, applied for real (server-side apply; idempotent). */
async function applyKustomizeBase(): Promise<KubeObject[]> {
  const { stdout } = await run(toolPath("kustomize"), [
    "build",
    join(repositoryRoot, "deploy/kustomize/base"),
  ]);
  const objects = documents(stdout);
  for (const object of objects) {
    await cluster.client.apply(object, { fieldManager: "kustomize-test", force: true });
  }
  return objects;
}

async function kubeConfigFor(serviceAccount: string, namespace: string): Promise<KubeConfig> {
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

describe("the deployment manifests", () => {
  it("kustomize base: applies, and its RBAC lets the operator reconcile and finalize a mirror", async () => {
    const objects = await applyKustomizeBase();
    expect(objects.map((object) => object.kind)).toEqual(
      expect.arrayContaining([
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "Role",
        "Deployment",
      ]),
    );
    const deployment = await get(cluster.client, "Deployment", "regmirror-operator");
    const pod = (deployment.spec as Json).template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.containers[0].args).toContain("operator");

    const logger = capturingLogger();
    const operator = cluster.startOperator({
      kubeConfig: await kubeConfigFor("regmirror-operator", operatorNamespace),
      identity: "service-account",
      leaderElection: { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 },
      logger,
    });
    await operator.whenReconciling();
    await cluster.client.create({
      ...mirrorApi,
      metadata: { name: "rbac" },
      spec: {
        upstreamUrl: "quay.io",
        exposure: { type: "Ingress", ingress: { host: "q.example.com" } },
      },
    });
    await eventually(async () => {
      const mirror = await getMirror(cluster.client, "rbac");
      expect(conditionOf(mirror, "Progressing")?.status).toBe("True");
      expect(conditionOf(mirror, "Degraded")?.status).toBe("False");
    });
    await get(cluster.client, "Ingress", "regmirror-rbac");
    await cluster.client.delete({ ...mirrorApi, name: "rbac" });
    await eventually(() =>
      get(cluster.client, "DaemonSet", "regmirror-rbac-node-agent").then((daemonSet) => {
        expect(daemonSet.metadata?.annotations?.["regmirror.dev/node-agent-mode"]).toBe(
          "uninstall",
        );
      }),
    );
    // No kubelet here: the test reports the agents' rollout in the DaemonSet status.
    await patchDaemonSetRolledOut(cluster.client, "regmirror-rbac-node-agent", 1);
    await eventually(async () => {
      await expect(getMirror(cluster.client, "rbac")).rejects.toThrow(/404/);
    });
    await operator.close();
    // Nothing was refused (no 403 anywhere) and every Event was recorded.
    const refused = logger.entries.filter((entry) =>
      /403|Forbidden|could not record/.test(`${entry.message} ${JSON.stringify(entry.fields)}`),
    );
    expect(refused).toEqual([]);
  });

  it("Helm chart: renders and passes a server-side dry run (with ImageSwap RBAC)", async () => {
    const { stdout } = await run(
      toolPath("helm"),
      [
        "template",
        "mirrors",
        join(repositoryRoot, "deploy/helm/regmirror-operator"),
        "--namespace",
        operatorNamespace,
        "--include-crds",
        "--set",
        "imageswap.enabled=true",
        "--set",
        "imageswap.namespace=default",
        // The API server the tests run; helm's own default (built with go install) is v1.20.
        "--kube-version",
        "1.36.3",
      ],
      {
        // Keep helm's cache and config out of the home directory.
        env: {
          ...process.env,
          HELM_CACHE_HOME: join(temporary ?? "", "helm-cache"),
          HELM_CONFIG_HOME: join(temporary ?? "", "helm-config"),
          HELM_DATA_HOME: join(temporary ?? "", "helm-data"),
        },
      },
    );
    const objects = documents(stdout);
    expect(objects.map((object) => `${object.kind}/${object.metadata?.name}`).sort()).toEqual([
      "ClusterRole/mirrors-regmirror-operator",
      "ClusterRoleBinding/mirrors-regmirror-operator",
      "CustomResourceDefinition/registrymirrors.regmirror.dev",
      "Deployment/mirrors-regmirror-operator",
      "Role/mirrors-regmirror-operator",
      "Role/mirrors-regmirror-operator-events",
      "Role/mirrors-regmirror-operator-imageswap",
      "RoleBinding/mirrors-regmirror-operator",
      "RoleBinding/mirrors-regmirror-operator-events",
      "RoleBinding/mirrors-regmirror-operator-imageswap",
      "ServiceAccount/regmirror-operator",
    ]);
    for (const object of objects) {
      const namespaced = ![
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
      ].includes(object.kind ?? "");
      if (namespaced) expect(object.metadata?.namespace, `${object.kind}`).toBeDefined();
      const applied = await cluster.client.apply<KubeObject>(object, {
        fieldManager: "helm-test",
        force: true,
        dryRun: "All",
      });
      expect(applied.metadata?.name).toBe(object.metadata?.name);
    }
    const deployment = objects.find((object) => object.kind === "Deployment");
    const deploymentSpec: Json = deployment?.spec;
    expect(deploymentSpec.template.spec.containers[0].args).toEqual(
      expect.arrayContaining(["--image=ghcr.io/regmirror/regmirror-operator:0.0.0"]),
    );
  });

  it("the regmirror-operator binary reconciles with a ServiceAccount kubeconfig and stops on SIGTERM", async () => {
    await build({
      config: false,
      entry: { main: join(appDirectory, "src/main.ts") },
      outDir: bundleDirectory,
      format: ["esm"],
      platform: "node",
      target: "node22",
      silent: true,
      noExternal: [/^@regmirror\//],
      esbuildOptions(options) {
        options.conditions = ["@regmirror/source"];
      },
    });
    await applyKustomizeBase();
    const kubeconfigFile = join(temporary ?? "", "kubeconfig.json");
    const kubeConfig = await kubeConfigFor("regmirror-operator", operatorNamespace);
    await writeFile(kubeconfigFile, kubeConfig.exportConfig());
    const operator = spawn(process.execPath, [
      join(bundleDirectory, "main.js"),
      "operator",
      "--image=registry.example/regmirror-operator:cli",
      "--cache-image=registry.example/regmirror-cache:cli",
      `--namespace=${operatorNamespace}`,
      `--kubeconfig=${kubeconfigFile}`,
      "--identity=cli",
      "--lease-name=cli-test",
      "--lease-duration=3s",
      "--renew-deadline=2s",
      "--retry-period=500ms",
      "--health-listen=127.0.0.1:0",
    ]);
    child = operator;
    const logs: Record<string, unknown>[] = [];
    createInterface({ input: operator.stdout }).on("line", (line) => {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
    });
    let stderr = "";
    operator.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const started = await eventually(() => {
      const line = logs.find((entry) => entry.msg === "operator started");
      if (!line) throw new Error(`not started yet; stderr: ${stderr}`);
      return line;
    });
    const health = await eventually(async () => {
      const answer = await fetch(`http://${started.health}/healthz`);
      const body = (await answer.json()) as { status: string; leader: boolean };
      expect(body).toEqual({ status: "ok", leader: true });
      return answer.status;
    });
    expect(health).toBe(200);
    await cluster.client.create({
      ...mirrorApi,
      metadata: { name: "cli" },
      spec: { upstreamUrl: "ghcr.io" },
    });
    const daemonSet = await eventually(() =>
      get(cluster.client, "DaemonSet", "regmirror-cli-node-agent"),
    );
    expect((daemonSet.spec as Json).template.spec.containers[0].image).toBe(
      "registry.example/regmirror-operator:cli",
    );
    const exited = new Promise<number | null>((resolve) => operator.once("exit", resolve));
    operator.kill("SIGTERM");
    const code = await exited;
    expect({ code, stderr, failures: logs.filter((entry) => Number(entry.level) >= 50) }).toEqual({
      code: 0,
      stderr: "",
      failures: [],
    });
    expect(logs.some((entry) => entry.msg === "operator stopping")).toBe(true);
  });
});
