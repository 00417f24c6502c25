// The generated CRD on a real API server: it rejects bad specs itself, with the field named, and
// it accepts a mirror-operator manifest whose only change is its apiVersion.
import { readFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { type KubeObject, KubernetesApiError } from "@regmirror/k8s-reconciler";
import { registryMirrorCustomResourceDefinition } from "@regmirror/schemas";
import { htpasswdFile } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { crdFileLocations, renderCrdYaml } from "../../src/operator/render/crd-files.js";
import {
  conditionOf,
  createNamespace,
  eventually,
  get,
  getMirror,
  type Json,
  mirrorApi,
  type OperatorCluster,
  operatorNamespace,
  readYamlDocuments,
  repositoryRoot,
  startOperatorCluster,
} from "./operator-cluster.js";

const schemaFixtures = join(repositoryRoot, "packages/schemas/test/registry-mirror/fixtures");

let cluster: OperatorCluster;

beforeAll(async () => {
  cluster = await startOperatorCluster();
  cluster.startOperator();
});

afterAll(async () => {
  await cluster?.stop();
});

/**
 * Creating a CRD in a dry run, as `kubectl apply` does on install: the API server's `Warning`
 * headers. The CRD is renamed to a group of its own so it never collides with the installed one.
 */
function crdInstallProbe() {
  const renamed = (crd: Record<string, unknown>) => {
    const copy = structuredClone(crd) as Json;
    copy.spec.group = "probe.regmirror.dev";
    copy.metadata.name = `${copy.spec.names.plural}.probe.regmirror.dev`;
    return copy as KubeObject;
  };
  const warningsOf = (crd: KubeObject) =>
    new Promise<string[]>((resolve, reject) => {
      const url = new URL(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions?dryRun=All",
        cluster.server.url,
      );
      const request = httpsRequest(
        url,
        {
          method: "POST",
          ca: cluster.server.ca,
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${cluster.server.token}`,
          },
        },
        (response) => {
          response.resume();
          response.on("end", () => {
            if ((response.statusCode ?? 500) >= 300) {
              reject(new Error(`creating the CRD answered ${response.statusCode}`));
              return;
            }
            const header = response.headers.warning;
            resolve(header === undefined ? [] : [header].flat());
          });
        },
      );
      request.on("error", reject);
      request.end(JSON.stringify(crd));
    });
  return { renamed, warningsOf };
}

async function rejection(name: string, spec: unknown): Promise<string> {
  try {
    await cluster.client.create({ ...mirrorApi, metadata: { name }, spec });
  } catch (error) {
    expect(error).toBeInstanceOf(KubernetesApiError);
    expect((error as KubernetesApiError).statusCode).toBe(422);
    return (error as Error).message;
  }
  throw new Error(`the API server accepted ${JSON.stringify(spec)}`);
}

describe("the RegistryMirror CRD", () => {
  it("is committed up to date wherever it is shipped (regenerate with `pnpm generate:crd`)", async () => {
    const expected = renderCrdYaml();
    for (const location of crdFileLocations) {
      expect(await readFile(join(repositoryRoot, location), "utf8"), location).toBe(expected);
    }
  });

  it("is cluster scoped with the short name rm, a status subresource and printer columns", async () => {
    const crd = await cluster.client.get<KubeObject>({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      name: "registrymirrors.regmirror.dev",
    });
    const spec = crd.spec as Json;
    expect(spec.scope).toBe("Cluster");
    expect(spec.names.shortNames).toEqual(["rm"]);
    expect(spec.versions[0].name).toBe("v1alpha1");
    expect(spec.versions[0].subresources).toEqual({ status: {} });
    expect(
      spec.versions[0].additionalPrinterColumns.map((column: { name: string }) => column.name),
    ).toEqual(expect.arrayContaining(["Upstream", "Ready", "Reason", "Owner", "Age"]));
    // The table `kubectl get rm` prints comes from the API server itself.
    await cluster.client.create({
      ...mirrorApi,
      metadata: { name: "table" },
      spec: { upstreamUrl: "https://ghcr.io" },
    });
    const table = await cluster.tableOf("/apis/regmirror.dev/v1alpha1/registrymirrors/table");
    const columns = table.columnDefinitions.map((column) => column.name);
    expect(table.rows[0]?.cells[columns.indexOf("Upstream")]).toBe("https://ghcr.io");
  });

  it.each([
    [{ upstreamUrl: "quay.io", replicas: 0 }, /spec\.replicas.*greater than or equal to 1/],
    [{ upstreamUrl: "quay.io", replicas: "two" }, /spec\.replicas.*integer/],
    [{ upstreamUrl: "quay.io", replicas: 101 }, /spec\.replicas.*less than or equal to 100/],
    [
      { upstreamUrl: "quay.io", blobTtl: "one day" },
      /spec\.blobTtl.*must be a duration like 24h, 90m, 1h30m or 7d/,
    ],
    [
      { upstreamUrl: "quay.io", maxSize: "lots" },
      /spec\.maxSize.*must be a size above 0 like 500GiB/,
    ],
    [{ upstreamUrl: "quay.io", maxSize: -5 }, /spec\.maxSize.*must be a size above 0 like 500GiB/],
    [{ upstreamUrl: "quay.io", maxSize: 0 }, /spec\.maxSize.*must be a size above 0/],
    [{ upstreamUrl: "quay.io", maxSize: "0GiB" }, /spec\.maxSize.*must be a size above 0/],
    [
      {
        upstreamUrl: "quay.io",
        volumeClaimTemplate: { spec: { resources: { requests: { storage: -1 } } } },
      },
      /spec\.volumeClaimTemplate\.spec\.resources\.requests\.storage.*must be a Kubernetes quantity above 0 like 20Gi/,
    ],
    [
      {
        upstreamUrl: "quay.io",
        volumeClaimTemplate: { spec: { resources: { requests: { storage: "0Gi" } } } },
      },
      /spec\.volumeClaimTemplate\.spec\.resources\.requests\.storage.*must be a Kubernetes quantity above 0/,
    ],
    [
      { upstreamUrl: "quay.io", tls: { certificateDuration: "24h", renewBefore: "48h" } },
      /spec\.tls\.renewBefore.*must be shorter than certificateDuration/,
    ],
    [
      // renewBefore's default (720h) is longer than this.
      { upstreamUrl: "quay.io", tls: { certificateDuration: "20d" } },
      /spec\.tls\.renewBefore.*renewBefore \(default 720h\) must be shorter than certificateDuration/,
    ],
    [
      { upstreamUrl: "quay.io", tls: { renewBefore: "91d" } },
      /spec\.tls\.renewBefore.*must be shorter than certificateDuration \(default 2160h\)/,
    ],
    [
      { upstreamUrl: "https://user@quay.io/path" },
      /spec\.upstreamUrl.*must be a registry host or URL like hub\.docker\.io/,
    ],
    [
      { upstreamUrl: "quay.io", exposure: { type: "HostPort" } },
      /spec\.exposure\.type.*Unsupported value/,
    ],
    [
      { upstreamUrl: "quay.io", mirrorOf: ["quay.io", "quay.io"] },
      /spec\.mirrorOf\[1\].*Duplicate value/,
    ],
    [
      { upstreamUrl: "quay.io", tls: { includeNodeAddresses: true } },
      /spec\.tls\.includeNodeAddresses.*for exposure\.type NodePort/,
    ],
    [
      { upstreamUrl: "quay.io", tls: { secretName: "mine", dnsNames: ["a.example.com"] } },
      /spec\.tls.*not with tls\.secretName/,
    ],
    [{ upstreamUrl: "quay.io", tls: { ipAddresses: ["10.0.0"] } }, /spec\.tls\.ipAddresses\[0\]/],
    [
      { upstreamUrl: "quay.io", credentialsSecretNamespace: "default" },
      /spec\.credentialsSecretNamespace.*set both/,
    ],
    [
      { upstreamUrl: "quay.io", exposure: { type: "ClusterIP", loadBalancer: {} } },
      /spec\.exposure\.loadBalancer.*only allowed with type LoadBalancer/,
    ],
    [
      {
        upstreamUrl: "quay.io",
        storage: { s3: { bucket: "b" } },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete" },
      },
      /spec\.persistentVolumeClaimRetentionPolicy.*storage\.s3/,
    ],
    [
      { upstreamUrl: "quay.io", exposure: { type: "NodePort", nodePort: 80 } },
      /spec\.exposure\.nodePort.*30000/,
    ],
    [
      { upstreamUrl: "quay.io", exposure: { type: "Ingress" } },
      /spec\.exposure\.ingress.*required with type Ingress/,
    ],
    [
      { upstreamUrl: "quay.io", exposure: { type: "ClusterIP", nodePort: 30001 } },
      /spec\.exposure\.nodePort.*only allowed with type NodePort/,
    ],
    [
      { upstreamUrl: "quay.io", credentialsSecret: "Not_A_Name" },
      /spec\.credentialsSecret.*must be a Kubernetes object name/,
    ],
    [
      { upstreamUrl: "quay.io", placement: { nodeSelector: { "bad key!": "x" } } },
      /spec\.placement\.nodeSelector.*keys must be label keys/,
    ],
    [
      { upstreamUrl: "quay.io", masqueradeUrl: "Not A Host" },
      /spec\.masqueradeUrl.*must be a registry host name like docker\.io/,
    ],
    [
      { upstreamUrl: "quay.io", nodeConfiguration: { modes: ["podman"] } },
      /spec\.nodeConfiguration\.modes\[0\].*Unsupported value/,
    ],
    [
      {
        upstreamUrl: "quay.io",
        storage: { s3: { bucket: "b" } },
        volumeClaimTemplate: { spec: {} },
      },
      /spec\.volumeClaimTemplate.*storage\.s3/,
    ],
    [
      { upstreamUrl: "quay.io", clientAuth: { mode: "htpasswd" } },
      /spec\.clientAuth\.htpasswdSecret.*required with mode htpasswd/,
    ],
    [
      { upstreamUrl: "quay.io", clientAuth: { mode: "open" } },
      /spec\.clientAuth\.mode.*Unsupported value/,
    ],
    [{}, /spec\.upstreamUrl.*Required value/],
  ])("rejects %j with a message naming the field", async (spec, message) => {
    const text = await rejection("invalid", spec);
    expect(text).toMatch(message);
    // Written for people: no regular expression printed as the expectation.
    expect(text).not.toMatch(/should match '\^/);
  });

  it("refuses maxSize: 0 before the operator creates anything", async () => {
    await rejection("zero", { upstreamUrl: "quay.io", maxSize: 0 });
    for (const kind of ["Service", "Secret", "ConfigMap"]) {
      const list = await cluster.client.list<KubeObject>("v1", kind, {
        namespace: operatorNamespace,
        labelSelector: "regmirror.dev/mirror=zero",
      });
      expect(list.items, kind).toEqual([]);
    }
  });

  it("refuses a changed volumeClaimTemplate, saying what to do, and allows every other edit", async () => {
    await cluster.client.create({
      ...mirrorApi,
      metadata: { name: "volume" },
      spec: {
        upstreamUrl: "quay.io",
        volumeClaimTemplate: { spec: { resources: { requests: { storage: "10Gi" } } } },
      },
    });
    const patch = (spec: Record<string, unknown>) =>
      cluster.client.patch(
        { ...mirrorApi, name: "volume" },
        { spec },
        "application/merge-patch+json",
      );
    const refused = await patch({
      volumeClaimTemplate: { spec: { resources: { requests: { storage: "50Gi" } } } },
    }).then(
      () => "accepted",
      (error: Error) => error.message,
    );
    expect(refused).toMatch(
      /spec\.volumeClaimTemplate.*cannot change once the mirror exists.*delete the RegistryMirror and create it again/,
    );
    // Removing it would change the volume too (to the 20Gi default).
    await expect(patch({ volumeClaimTemplate: null })).rejects.toThrow(/cannot change/);
    await patch({ replicas: 2, blobTtl: "12h" });
    // Moving to S3 replaces the StatefulSet with a Deployment: the template may go.
    await patch({ volumeClaimTemplate: null, storage: { s3: { bucket: "layers" } } });
  });

  it("publishes a description of every spec field, which kubectl explain reads", async () => {
    const openapi = await cluster.client.api.request<Json>({
      method: "GET",
      path: "/openapi/v3/apis/regmirror.dev/v1alpha1",
    });
    const schema = openapi.components.schemas["dev.regmirror.v1alpha1.RegistryMirror"];
    const spec = schema.properties.spec;
    expect(spec.description).toEqual(expect.any(String));
    const undescribed: string[] = [];
    const visit = (node: Json, path: string) => {
      for (const [name, child] of Object.entries<Json>(node.properties ?? {})) {
        if (typeof child.description !== "string" || child.description === "") {
          undescribed.push(`${path}.${name}`);
        }
        visit(child, `${path}.${name}`);
        if (child.items) visit(child.items, `${path}.${name}[]`);
      }
    };
    visit(spec, "spec");
    visit(schema.properties.status, "status");
    expect(undescribed).toEqual([]);
    expect(spec.properties.masqueradeUrl.description).toMatch(/hosts-file/);
  });

  it("installs without a warning (no format Kubernetes does not know)", async () => {
    const { renamed, warningsOf } = crdInstallProbe();
    expect(await warningsOf(renamed(registryMirrorCustomResourceDefinition()))).toEqual([]);
    // The check can fail: a format the API server does not know is reported.
    const withUnknownFormat = renamed(registryMirrorCustomResourceDefinition()) as Json;
    withUnknownFormat.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.upstreamUrl.format =
      "starts_with";
    expect((await warningsOf(withUnknownFormat)).join("\n")).toMatch(
      /unrecognized format \\"starts_with/,
    );
  });

  it("rejects a mirror name the operator could not derive object names from", async () => {
    const message = await rejection("a".repeat(41), { upstreamUrl: "quay.io" });
    expect(message).toMatch(/metadata\.name must be a DNS label of at most 40 characters/);
  });

  it("defaults replicas to 1", async () => {
    const created = await cluster.client.create<KubeObject>({
      ...mirrorApi,
      metadata: { name: "defaults" },
      spec: { upstreamUrl: "quay.io" },
    });
    expect((created.spec as Record<string, unknown>).replicas).toBe(1);
  });

  it("accepts a mirror-operator manifest with only its apiVersion changed, and reconciles it", async () => {
    // The README example of ocadotechnology/mirror-operator, apiVersion changed from mirror.aws.ocado.com/v1.
    const manifest = parse(`
apiVersion: regmirror.dev/v1alpha1
kind: RegistryMirror
metadata:
  name: docker
spec:
  upstreamUrl: hub.docker.io
  masqueradeUrl: docker-mirror.example.com
  credentialsSecret: internal-mirror-secret
  volumeClaimTemplate:
    spec:
      storageClassName: gp2
      resources:
        requests:
          storage: 20Gi
`) as KubeObject;
    await cluster.client.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "internal-mirror-secret", namespace: operatorNamespace },
      type: "kubernetes.io/dockerconfigjson",
      stringData: { ".dockerconfigjson": '{"auths":{"hub.docker.io":{"auth":"dXNlcjpwYXNz"}}}' },
    });
    await cluster.client.create(manifest);
    const statefulSet = await eventually(() =>
      get(cluster.client, "StatefulSet", "regmirror-docker"),
    );
    const claim = (statefulSet.spec as Json).volumeClaimTemplates[0];
    expect(claim.spec.storageClassName).toBe("gp2");
    expect(claim.spec.resources.requests.storage).toBe("20Gi");
    const mirror = await eventually(async () => {
      const current = await getMirror(cluster.client, "docker");
      expect(conditionOf(current, "Progressing")?.status).toBe("True");
      return current;
    });
    expect(conditionOf(mirror, "Degraded")?.status).toBe("False");
    const tls = await get(cluster.client, "Secret", "regmirror-docker-tls");
    const certificate = Buffer.from(
      (tls.data as Record<string, string>)["tls.crt"] ?? "",
      "base64",
    ).toString();
    expect(certificate).toContain("BEGIN CERTIFICATE");
    // The dockerconfigjson Secret is handed to the cache as it is.
    const auth = await get(cluster.client, "Secret", "regmirror-docker-upstream-auth");
    expect(
      Buffer.from((auth.data as Record<string, string>)["config.json"] ?? "", "base64").toString(),
    ).toBe('{"auths":{"hub.docker.io":{"auth":"dXNlcjpwYXNz"}}}');
  });

  it("accepts and reconciles every mirror-operator README example (the schemas package's fixture)", async () => {
    const examples = await readYamlDocuments(join(schemaFixtures, "mirror-operator-examples.yml"));
    await cluster.client.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "internal-mirror", namespace: operatorNamespace },
      stringData: { username: "mirror", password: "pass" },
    });
    // Two examples share each name: applied in order, the later one is the mirror's new spec.
    for (const example of examples) {
      await cluster.client.apply(example, { fieldManager: "kubectl", force: true });
      const name = example.metadata?.name ?? "";
      await eventually(async () => {
        const mirror = await getMirror(cluster.client, name);
        expect((mirror.status as Json)?.observedGeneration).toBe(mirror.metadata?.generation);
        expect(conditionOf(mirror, "Degraded")?.status).toBe("False");
      });
    }
    const internal = await get(cluster.client, "StatefulSet", "regmirror-internal");
    expect((internal.spec as Json).volumeClaimTemplates[0].spec.resources.requests.storage).toBe(
      "20Gi",
    );
  });

  it("accepts and reconciles a spec using every field (the schemas package's fixture)", async () => {
    const [fullSpec] = await readYamlDocuments(join(schemaFixtures, "full-spec.yml"));
    await createNamespace(cluster.client, "imageswap-system");
    await cluster.client.create({
      apiVersion: "v1",
      kind: "Secret",
      // The fixture names the credentials' namespace: where mirror-operator kept them.
      metadata: { name: "docker-hub-credentials", namespace: "default" },
      stringData: { username: "hub", password: "hub-pass" },
    });
    await cluster.client.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "docker-hub-users", namespace: operatorNamespace },
      stringData: { htpasswd: htpasswdFile([{ username: "puller", password: "puller-pass" }]) },
    });
    await cluster.client.create(fullSpec as KubeObject);
    const mirror = await eventually(async () => {
      const current = await getMirror(cluster.client, "docker-hub");
      expect(conditionOf(current, "Progressing")?.status).toBe("True");
      return current;
    });
    // The fixture has webhook mode, and this test's operator serves no webhook: the mirror says so.
    expect(conditionOf(mirror, "Degraded")).toMatchObject({
      status: "True",
      reason: "WebhookNotServed",
    });
    const deployment = await get(cluster.client, "Deployment", "regmirror-docker-hub");
    const pod = (deployment.spec as Json).template.spec;
    expect(pod.nodeSelector).toEqual({ "dtr.cache": "true" });
    expect(pod.priorityClassName).toBe("system-cluster-critical");
    expect(pod.volumes).toContainEqual(
      expect.objectContaining({
        name: "client-auth",
        secret: expect.objectContaining({ secretName: "docker-hub-users" }),
      }),
    );
    expect(conditionOf(mirror, "UpstreamCredentialsShared")?.reason).toBe("Htpasswd");
    const agent = await get(cluster.client, "DaemonSet", "regmirror-docker-hub-node-agent");
    expect((agent.spec as Json).template.spec.nodeSelector).toEqual({
      "kubernetes.io/os": "linux",
    });
    const state = await get(cluster.client, "ConfigMap", "regmirror-docker-hub-node-state");
    const nodeState = JSON.parse((state.data as Record<string, string>)["node-state.json"] ?? "");
    expect(nodeState.runtimes).toEqual(["containerd", "docker", "crio", "hosts-file"]);
    expect(nodeState.mirrors[0].dialTimeout).toBe("1000ms");
    expect((mirror.status as Json).serviceAddress).toBe("mirror.example.com:443");
  });
});
