// The shipped deployment manifests on a real API server: the kustomize base applied for real,
// then the operator run with the ServiceAccount token it grants (so its RBAC is enough, and no
// more is assumed); the Helm chart's values rendered and applied with a server-side dry run;
// and the bundled binary finding its cluster as kubectl does (or stopping at once).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { freePort, makeTempDirectory, removeTempDirectory } from "@regmirror/test-kit";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyAll,
  bundleOperatorBinary,
  helmTemplate,
  kustomizeBase,
  serviceAccountKubeConfig,
} from "./deploy-tools.js";
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
  startOperatorCluster,
} from "./operator-cluster.js";

let cluster: OperatorCluster;
let temporary = "";
const children: ChildProcess[] = [];
let binary: Awaited<ReturnType<typeof bundleOperatorBinary>> | undefined;

beforeAll(async () => {
  cluster = await startOperatorCluster();
  temporary = makeTempDirectory("operator-cli-");
});

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
    }
  }
  await binary?.remove();
  if (temporary) await removeTempDirectory(temporary);
  await cluster?.stop();
});

const helm = (args: readonly string[]) =>
  helmTemplate(temporary, "mirrors", ["--namespace", operatorNamespace, ...args]);

const byKind = (objects: readonly KubeObject[], kind: string) =>
  objects.filter((object) => object.kind === kind);

/** The spec of the first rendered object of `kind`. */
function specOf(objects: readonly KubeObject[], kind: string): Json {
  const [found] = byKind(objects, kind);
  if (!found) throw new Error(`no ${kind} rendered`);
  return found.spec;
}

function operatorArgs(objects: readonly KubeObject[]): string[] {
  return specOf(objects, "Deployment").template.spec.containers[0].args;
}

describe("the deployment manifests", () => {
  it("kustomize base: applies, and its RBAC lets the operator reconcile and finalize a mirror", async () => {
    const objects = await kustomizeBase();
    await applyAll(cluster, objects, "kustomize-test");
    expect(objects.map((object) => object.kind)).toEqual(
      expect.arrayContaining([
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "Role",
        "Deployment",
        "PodDisruptionBudget",
      ]),
    );
    const deployment = await get(cluster.client, "Deployment", "regmirror-operator");
    const pod = (deployment.spec as Json).template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.containers[0].args).toContain("operator");
    expect(pod.affinity.podAntiAffinity).toBeDefined();

    const logger = capturingLogger();
    const operator = cluster.startOperator({
      kubeConfig: await serviceAccountKubeConfig(cluster, "regmirror-operator", operatorNamespace),
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
    // Nothing was refused (no 403 anywhere, the Node informer included) and every Event was recorded.
    const refused = logger.entries.filter((entry) =>
      /403|Forbidden|could not record/.test(`${entry.message} ${JSON.stringify(entry.fields)}`),
    );
    expect(refused).toEqual([]);
  });

  it("Helm chart: renders its defaults and passes a server-side dry run (with ImageSwap RBAC)", async () => {
    const objects = await helm([
      "--include-crds",
      "--set",
      "imageswap.enabled=true",
      "--set",
      "imageswap.namespace=default",
      "--set",
      "imageswap.configMapName=swap-maps",
    ]);
    expect(objects.map((object) => `${object.kind}/${object.metadata?.name}`).sort()).toEqual([
      "ClusterRole/mirrors-regmirror-operator",
      "ClusterRoleBinding/mirrors-regmirror-operator",
      "CustomResourceDefinition/registrymirrors.regmirror.dev",
      "Deployment/mirrors-regmirror-operator",
      "PodDisruptionBudget/mirrors-regmirror-operator",
      "Role/mirrors-regmirror-operator",
      "Role/mirrors-regmirror-operator-events",
      "Role/mirrors-regmirror-operator-imageswap",
      "RoleBinding/mirrors-regmirror-operator",
      "RoleBinding/mirrors-regmirror-operator-events",
      "RoleBinding/mirrors-regmirror-operator-imageswap",
      "Service/mirrors-regmirror-operator-webhook",
      "ServiceAccount/mirrors-regmirror-operator",
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
    const args = operatorArgs(objects);
    expect(args).toEqual(
      expect.arrayContaining([
        "--image=ghcr.io/regmirror/regmirror-operator:0.0.0",
        // The maps ConfigMap the RBAC allows is the one the operator writes by default.
        "--imageswap-configmap=swap-maps",
        "--imageswap-namespace=default",
      ]),
    );
    const pod = specOf(objects, "Deployment").template.spec;
    expect(pod.containers[0].env).toContainEqual({ name: "LOG_LEVEL", value: "info" });
    // The two replicas prefer different nodes; the budget keeps one through a drain.
    expect(
      pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]
        .podAffinityTerm.topologyKey,
    ).toBe("kubernetes.io/hostname");
    expect(specOf(objects, "PodDisruptionBudget").maxUnavailable).toBe(1);
  });

  it("Helm chart: the values users set reach the objects", async () => {
    const objects = await helm([
      "--set",
      "fullnameOverride=mirror-operator",
      "--set",
      "serviceAccount.create=false",
      "--set",
      "serviceAccount.name=existing-account",
      "--set",
      "imagePullSecrets[0].name=ghcr-pull",
      "--set",
      "priorityClassName=system-cluster-critical",
      "--set",
      "logLevel=debug",
      "--set",
      "extraArgs[0]=--installation=team-a",
      "--set",
      "podAntiAffinity=hard",
      "--set",
      "podDisruptionBudget.enabled=false",
      "--set",
      "credentialsSecretNamespaces[0]=default",
    ]);
    const names = objects.map((object) => `${object.kind}/${object.metadata?.name}`);
    expect(names).toContain("Deployment/mirror-operator");
    expect(names).toContain("Role/mirror-operator-credentials");
    expect(names.some((name) => name.startsWith("ServiceAccount/"))).toBe(false);
    expect(names.some((name) => name.startsWith("PodDisruptionBudget/"))).toBe(false);
    const pod = specOf(objects, "Deployment").template.spec;
    expect(pod.serviceAccountName).toBe("existing-account");
    expect(pod.imagePullSecrets).toEqual([{ name: "ghcr-pull" }]);
    expect(pod.priorityClassName).toBe("system-cluster-critical");
    expect(pod.containers[0].env).toContainEqual({ name: "LOG_LEVEL", value: "debug" });
    // The pods the operator makes pull with the same Secret.
    expect(pod.containers[0].args).toEqual(
      expect.arrayContaining(["--image-pull-secret=ghcr-pull", "--installation=team-a"]),
    );
    expect(
      pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey,
    ).toBe("kubernetes.io/hostname");
    const credentials = byKind(objects, "RoleBinding").find(
      (binding) => binding.metadata?.name === "mirror-operator-credentials",
    );
    expect(credentials?.metadata?.namespace).toBe("default");
    expect((credentials as Json).subjects).toEqual([
      { kind: "ServiceAccount", name: "existing-account", namespace: operatorNamespace },
    ]);
    // nameOverride renames the objects and their labels alike.
    const renamed = await helm(["--set", "nameOverride=mirrors"]);
    expect(byKind(renamed, "Deployment")[0]?.metadata?.name).toBe("mirrors");
  });

  it("Helm chart: namespace.create makes the namespace, with the Pod Security label the node agents need", async () => {
    const objects = await helmTemplate(temporary, "regmirror", [
      "--namespace",
      "default",
      "--set",
      "namespace.create=true",
      "--set",
      "namespace.name=regmirror-helm-namespace",
    ]);
    const [namespace] = byKind(objects, "Namespace");
    expect(namespace?.metadata?.name).toBe("regmirror-helm-namespace");
    expect(namespace?.metadata?.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "privileged",
    });
    for (const kind of ["Deployment", "ServiceAccount", "Role", "PodDisruptionBudget"]) {
      const inOperatorNamespace = byKind(objects, kind).filter(
        (object) => !object.metadata?.name?.endsWith("-events"),
      );
      for (const object of inOperatorNamespace) {
        expect(object.metadata?.namespace, `${kind}/${object.metadata?.name}`).toBe(
          "regmirror-helm-namespace",
        );
      }
    }
    // Applied for real: a privileged pod (what the node agents are) is admitted there.
    await applyAll(cluster, [namespace as KubeObject], "helm-test");
    await cluster.client.create(
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "agent-like", namespace: "regmirror-helm-namespace" },
        spec: {
          containers: [
            {
              name: "agent",
              image: "registry.example/agent:test",
              securityContext: { runAsUser: 0 },
              volumeMounts: [{ name: "etc", mountPath: "/host/etc" }],
            },
          ],
          volumes: [{ name: "etc", hostPath: { path: "/etc" } }],
        },
      },
      { dryRun: "All" },
    );
  });

  it.each([
    [["--set", "replicaCount=two"], /replicaCount/],
    [["--set", "logLevel=loud"], /logLevel/],
    [["--set", "podAntiAffinity=sometimes"], /podAntiAffinity/],
    [["--set", "nodeCleanupTimeout=five minutes"], /nodeCleanupTimeout/],
    [["--set", "imagePulSecrets[0].name=x"], /imagePulSecrets/],
  ])("Helm chart: values.schema.json refuses %j, naming the value", async (args, message) => {
    const rejection = await helm(args).then(
      () => "rendered",
      (error: { stderr?: string }) => error.stderr ?? String(error),
    );
    expect(rejection).toMatch(message);
  });
});

describe("the regmirror-operator binary", () => {
  interface Started {
    logs: Record<string, unknown>[];
    stderr(): string;
    exited: Promise<number | null>;
    child: ChildProcess;
  }

  async function start(args: string[], environment: Record<string, string>): Promise<Started> {
    binary ??= await bundleOperatorBinary();
    const child = spawn(process.execPath, [binary.main, "operator", ...args], {
      env: { PATH: process.env.PATH ?? "", ...environment },
    });
    children.push(child);
    const logs: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout }).on("line", (line) => {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    return { logs, stderr: () => stderr, exited, child };
  }

  const images = [
    "--image=registry.example/regmirror-operator:cli",
    "--cache-image=registry.example/regmirror-cache:cli",
  ];

  it("reads $KUBECONFIG, reconciles with a ServiceAccount, serves health and metrics, and stops on SIGTERM", async () => {
    await applyAll(cluster, await kustomizeBase(), "kustomize-test");
    const kubeconfigFile = join(temporary, "kubeconfig.json");
    const kubeConfig = await serviceAccountKubeConfig(
      cluster,
      "regmirror-operator",
      operatorNamespace,
    );
    await writeFile(kubeconfigFile, kubeConfig.exportConfig());
    const operator = await start(
      [
        ...images,
        `--namespace=${operatorNamespace}`,
        "--identity=cli",
        "--lease-name=cli-test",
        "--lease-duration=3s",
        "--renew-deadline=2s",
        "--retry-period=500ms",
        // Durations in Go's syntax, as the cache configuration reads them.
        "--node-cleanup-timeout=1m30s",
        "--stuck-after=4m30s",
        "--health-listen=127.0.0.1:0",
        // The webhook and warm-ahead as the kustomize base runs them, under its RBAC.
        "--webhook-listen=127.0.0.1:0",
        "--webhook-host=127.0.0.1",
        "--warm-ahead",
      ],
      // No --kubeconfig and a home without ~/.kube: $KUBECONFIG alone names the cluster.
      { KUBECONFIG: kubeconfigFile, HOME: temporary },
    );
    const started = await eventually(() => {
      const line = operator.logs.find((entry) => entry.msg === "operator started");
      if (!line) throw new Error(`not started yet; stderr: ${operator.stderr()}`);
      return line;
    });
    expect(
      operator.logs.find((entry) => entry.msg === "connected to the Kubernetes API server"),
    ).toMatchObject({ server: cluster.server.url, version: expect.stringMatching(/^v1\./) });
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
      // Two replicas: the operator's RBAC must let it grant the caches' EndpointSlice reads.
      spec: { upstreamUrl: "ghcr.io", replicas: 2 },
    });
    const daemonSet = await eventually(() =>
      get(cluster.client, "DaemonSet", "regmirror-cli-node-agent"),
    );
    await eventually(() => get(cluster.client, "RoleBinding", "regmirror-cli-cache"));
    expect((daemonSet.spec as Json).template.spec.containers[0].image).toBe(
      "registry.example/regmirror-operator:cli",
    );
    const metrics = await eventually(async () => {
      const text = await (await fetch(`http://${started.health}/metrics`)).text();
      expect(text).toContain(`regmirror_operator_mirrors{owner="${operatorNamespace}/cli-test"} 1`);
      return text;
    });
    expect(metrics).toContain("regmirror_operator_leader 1");
    expect(metrics).toContain("regmirror_operator_healthy 1");
    expect(metrics).toContain("# TYPE regmirror_operator_webhook_requests_total counter");
    expect(metrics).toContain("# TYPE regmirror_operator_warm_requests_total counter");
    // The webhook serves HTTPS with the certificate it keeps in its Secret; bad input is admitted.
    const webhookSecret = await get(cluster.client, "Secret", "regmirror-operator-webhook-tls");
    const ca = Buffer.from((webhookSecret.data as Json)["ca.crt"], "base64").toString();
    const dispatcher = new Agent({ connect: { ca } });
    const answer = await request(`https://${started.webhook}/mutate/cli`, {
      method: "POST",
      body: "not a review",
      dispatcher,
    });
    expect(answer.statusCode).toBe(200);
    expect(((await answer.body.json()) as Json).response.allowed).toBe(true);
    await dispatcher.close();
    // Nothing the operator watches is refused to its ServiceAccount.
    expect(operator.logs.filter((entry) => /403|[Ff]orbidden/.test(JSON.stringify(entry)))).toEqual(
      [],
    );
    operator.child.kill("SIGTERM");
    const code = await operator.exited;
    expect({
      code,
      stderr: operator.stderr(),
      failures: operator.logs.filter((entry) => Number(entry.level) >= 50),
    }).toEqual({ code: 0, stderr: "", failures: [] });
    expect(operator.logs.some((entry) => entry.msg === "operator stopping")).toBe(true);
  });

  it("reads ~/.kube/config, taking the namespace from its context", async () => {
    const home = join(temporary, "home");
    await mkdir(join(home, ".kube"), { recursive: true });
    const kubeConfig = await serviceAccountKubeConfig(
      cluster,
      "regmirror-operator",
      operatorNamespace,
    );
    const exported = JSON.parse(kubeConfig.exportConfig());
    exported.contexts[0].context.namespace = operatorNamespace;
    await writeFile(join(home, ".kube", "config"), JSON.stringify(exported));
    const operator = await start(
      [...images, "--no-leader-election", "--health-listen=127.0.0.1:0"],
      { HOME: home },
    );
    const started = await eventually(() => {
      const line = operator.logs.find((entry) => entry.msg === "operator started");
      if (!line) throw new Error(`not started yet; stderr: ${operator.stderr()}`);
      return line;
    });
    expect(started.namespace).toBe(operatorNamespace);
    expect(
      operator.logs.find((entry) => entry.msg === "connected to the Kubernetes API server")?.from,
    ).toBe(join(home, ".kube", "config"));
    operator.child.kill("SIGTERM");
    expect(await operator.exited).toBe(0);
  });

  it("stops at once with a clear error when no cluster is configured", async () => {
    const emptyHome = join(temporary, "empty-home");
    await mkdir(emptyHome, { recursive: true });
    const operator = await start([...images, "--namespace=x"], { HOME: emptyHome });
    expect(await operator.exited).toBe(1);
    expect(operator.stderr()).toMatch(
      /no Kubernetes cluster configured: pass --kubeconfig FILE, set KUBECONFIG, create ~\/\.kube\/config, or run the operator in a pod/,
    );
  });

  it.each([
    [["--webhook-url=https://127.0.0.1:9443"], "--webhook-url needs --webhook-listen"],
    [
      ["--webhook-listen=127.0.0.1:0", "--webhook-url=http://127.0.0.1:9443"],
      '--webhook-url "http://127.0.0.1:9443" is not an https:// URL',
    ],
  ])("refuses webhook flags %j with a message naming them", async (flags, message) => {
    const operator = await start([...images, "--namespace=x", ...flags], {});
    expect(await operator.exited).toBe(2);
    expect(operator.stderr()).toContain(message);
  });

  it("stops at once with a clear error when the API server does not answer", async () => {
    const port = await freePort();
    const kubeconfigFile = join(temporary, "unreachable.kubeconfig.json");
    await writeFile(
      kubeconfigFile,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "gone", cluster: { server: `https://127.0.0.1:${port}` } }],
        users: [{ name: "u", user: { token: "t" } }],
        contexts: [{ name: "gone", context: { cluster: "gone", user: "u" } }],
        "current-context": "gone",
      }),
    );
    const operator = await start([...images, "--namespace=x"], {
      KUBECONFIG: kubeconfigFile,
      HOME: temporary,
    });
    expect(await operator.exited).toBe(1);
    expect(operator.stderr()).toContain(
      `cannot reach the Kubernetes API server https://127.0.0.1:${port} (from $KUBECONFIG`,
    );
    // Not the endless "Invalid URL" retries of an operator that guessed an in-cluster config.
    expect(operator.logs.filter((entry) => /Invalid URL/.test(JSON.stringify(entry)))).toEqual([]);
  });
});
