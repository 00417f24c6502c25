// docs/migrating-from-mirror-operator.md as a test: its marked examples (mirror-operator README
// manifests with only apiVersion changed, and the RBAC it tells kustomize users to add) applied
// to a real API server, the operator running under the kustomize base's ServiceAccount, and
// what the guide says about the result checked. Change the guide and this test together.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { loadCacheConfigFromYaml } from "@regmirror/schemas";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyAll,
  kustomizeBase,
  serviceAccountKubeConfig,
  yamlDocuments,
} from "./deploy-tools.js";
import {
  conditionOf,
  eventually,
  get,
  getMirror,
  type Json,
  type OperatorCluster,
  operatorNamespace,
  repositoryRoot,
  startOperatorCluster,
} from "./operator-cluster.js";

let cluster: OperatorCluster;
let guide = "";

/** The YAML block after `<!-- example: NAME -->` in the guide. */
function example(name: string): KubeObject[] {
  const marker = `<!-- example: ${name} -->`;
  const at = guide.indexOf(marker);
  if (at < 0) throw new Error(`the guide has no example ${name}`);
  const block = /```yaml\n([\s\S]*?)```/.exec(guide.slice(at + marker.length));
  if (!block?.[1]) throw new Error(`example ${name} has no yaml block`);
  return yamlDocuments(block[1]);
}

beforeAll(async () => {
  guide = await readFile(join(repositoryRoot, "docs/migrating-from-mirror-operator.md"), "utf8");
  cluster = await startOperatorCluster();
  await applyAll(cluster, await kustomizeBase(), "kustomize");
  cluster.startOperator({
    kubeConfig: await serviceAccountKubeConfig(cluster, "regmirror-operator", operatorNamespace),
  });
});

afterAll(async () => {
  await cluster?.stop();
});

function decoded(secret: KubeObject, key: string): string {
  return Buffer.from((secret.data as Record<string, string>)[key] ?? "", "base64").toString();
}

describe("docs/migrating-from-mirror-operator.md", () => {
  it("a mirror with a masquerade name: its manifest, with only apiVersion changed, becomes what the guide lists", async () => {
    const [manifest] = example("masquerade");
    expect(manifest?.apiVersion).toBe("regmirror.dev/v1alpha1");
    expect(manifest?.spec).toEqual({
      upstreamUrl: "hub.docker.io",
      masqueradeUrl: "local.docker.io",
    });
    await applyAll(cluster, [manifest as KubeObject], "kubectl");

    // kubectl get ds,statefulset,svc,registrymirror -l mirror=docker -n regmirror-system
    const labelled = async (apiVersion: string, kind: string, namespace?: string) =>
      (
        await cluster.client.list<KubeObject>(apiVersion, kind, {
          ...(namespace ? { namespace } : {}),
          labelSelector: "mirror=docker",
        })
      ).items.map((object) => `${kind}/${object.metadata?.name}`);
    await eventually(async () => {
      const listed = [
        ...(await labelled("apps/v1", "DaemonSet", operatorNamespace)),
        ...(await labelled("apps/v1", "StatefulSet", operatorNamespace)),
        ...(await labelled("v1", "Service", operatorNamespace)),
        ...(await labelled("regmirror.dev/v1alpha1", "RegistryMirror")),
      ];
      expect(listed.sort()).toEqual([
        "DaemonSet/regmirror-docker-node-agent",
        "RegistryMirror/docker",
        "Service/regmirror-docker",
        "Service/regmirror-docker-headless",
        "StatefulSet/regmirror-docker",
      ]);
    });
    const statefulSet = await get(cluster.client, "StatefulSet", "regmirror-docker");
    expect((statefulSet.spec as Json).volumeClaimTemplates[0].spec.resources.requests.storage).toBe(
      "20Gi",
    );

    // The cache pulls from Docker Hub at https://registry-1.docker.io.
    const config = await get(cluster.client, "ConfigMap", "regmirror-docker-config");
    const cacheConfig = loadCacheConfigFromYaml(
      (config.data as Record<string, string>)["config.yml"] ?? "",
    );
    expect(cacheConfig.upstreams[0]?.endpoints).toEqual(["https://registry-1.docker.io"]);

    // Nodes map local.docker.io to the ClusterIP; containerd's docker.io goes to it.
    const service = await get(cluster.client, "Service", "regmirror-docker");
    const clusterIp = (service.spec as Json).clusterIP;
    const state = await get(cluster.client, "ConfigMap", "regmirror-docker-node-state");
    const nodeState = JSON.parse((state.data as Record<string, string>)["node-state.json"] ?? "");
    expect(nodeState.runtimes).toEqual(["containerd", "hosts-file"]);
    expect(nodeState.hostsFileEntries).toEqual([{ host: "local.docker.io", ip: clusterIp }]);
    expect(nodeState.mirrors[0].endpoint).toBe("https://local.docker.io");
    expect(nodeState.mirrors[0].registries.map((entry: { host: string }) => entry.host)).toContain(
      "docker.io",
    );

    // The certificate, from the CA each node trusts, covers local.docker.io.
    const tls = await get(cluster.client, "Secret", "regmirror-docker-tls");
    const certificate = new x509.X509Certificate(decoded(tls, "tls.crt"));
    const names = certificate
      .getExtension(x509.SubjectAlternativeNameExtension)
      ?.names.items.map((name) => name.value);
    expect(names).toContain("local.docker.io");
    expect(nodeState.mirrors[0].caPem).toBe(decoded(tls, "ca.crt"));

    const mirror = await eventually(async () => {
      const current = await getMirror(cluster.client, "docker");
      expect(conditionOf(current, "MasqueradeHostMapped")?.status).toBe("True");
      return current;
    });
    expect(conditionOf(mirror, "Ready")?.reason).toBe("CachePodsNotReady");
  });

  it("…and had the modes left hosts-file out, MasqueradeHostMapped would be False, saying what to add", async () => {
    const [manifest] = example("masquerade");
    const modesWithoutHostsFile = {
      ...manifest,
      metadata: { name: "docker-dns" },
      spec: { ...(manifest?.spec as object), nodeConfiguration: { modes: ["containerd"] } },
    } as KubeObject;
    await applyAll(cluster, [modesWithoutHostsFile], "kubectl");
    const mirror = await eventually(async () => {
      const current = await getMirror(cluster.client, "docker-dns");
      expect(conditionOf(current, "MasqueradeHostMapped")?.status).toBe("False");
      return current;
    });
    expect(conditionOf(mirror, "MasqueradeHostMapped")?.message).toMatch(
      /add hosts-file to spec\.nodeConfiguration\.modes/,
    );
  });

  it("a mirror with upstream credentials left in mirror-operator's namespace: Degraded until the guide's RBAC is applied, then the Docker config copy", async () => {
    await cluster.client.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "internal-mirror", namespace: "default" },
      stringData: { username: "mirror", password: "mirror-pass" },
    });
    await applyAll(cluster, example("credentials"), "kubectl");
    const forbidden = await eventually(async () => {
      const current = await getMirror(cluster.client, "internal");
      expect(conditionOf(current, "Degraded")?.reason).toBe("CredentialsSecretForbidden");
      return current;
    });
    expect(conditionOf(forbidden, "Degraded")?.message).toContain("default");

    await applyAll(cluster, example("credentials-rbac"), "kubectl");
    const auth = await eventually(
      () => get(cluster.client, "Secret", "regmirror-internal-upstream-auth"),
      90_000,
    );
    const dockerConfig = JSON.parse(decoded(auth, "config.json"));
    expect(Buffer.from(dockerConfig.auths["registry-1.docker.io"].auth, "base64").toString()).toBe(
      "mirror:mirror-pass",
    );
    await eventually(async () => {
      const current = await getMirror(cluster.client, "internal");
      expect(conditionOf(current, "Degraded")?.status).toBe("False");
    });
    // The Secret the user named is left as it was.
    const original = await cluster.client.get<KubeObject>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: "default",
      name: "internal-mirror",
    });
    expect(original.metadata?.ownerReferences).toBeUndefined();
  });

  it("changing the volume is refused with the message the guide quotes", async () => {
    const [manifest] = example("masquerade");
    await applyAll(
      cluster,
      [{ ...manifest, metadata: { name: "docker-volume" } } as KubeObject],
      "kubectl",
    );
    const refused = await cluster.client
      .patch(
        { apiVersion: "regmirror.dev/v1alpha1", kind: "RegistryMirror", name: "docker-volume" },
        {
          spec: { volumeClaimTemplate: { spec: { resources: { requests: { storage: "50Gi" } } } } },
        },
        "application/merge-patch+json",
      )
      .then(
        () => "accepted",
        (error: Error) => error.message,
      );
    // The guide quotes the API server's answer whole.
    const quoted = /spec\.volumeClaimTemplate: Invalid value: [^\n]*/.exec(guide)?.[0];
    expect(quoted).toBeDefined();
    expect(refused).toContain(quoted);
  });
});
