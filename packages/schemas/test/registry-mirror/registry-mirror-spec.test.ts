import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  type ConfigProblem,
  parseRegistryMirrorSpec,
  RegistryMirrorInvalidError,
  registryMirrorApi,
  registryMirrorDefaults,
} from "../../src/index.js";

function manifests(name: string): Array<{ apiVersion: string; kind: string; spec: unknown }> {
  const text = readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
  return parseAllDocuments(text).map((document) => document.toJS());
}

function problemsOf(spec: unknown): readonly ConfigProblem[] {
  try {
    parseRegistryMirrorSpec(spec);
  } catch (error) {
    if (RegistryMirrorInvalidError.isInstance(error)) return error.problems;
    throw error;
  }
  throw new Error("the spec was accepted");
}

describe("mirror-operator manifests work with only apiVersion changed", () => {
  const [plain, masqueraded, withCredentials, withVolume] = manifests(
    "mirror-operator-examples.yml",
  );

  test("they name this API", () => {
    for (const manifest of [plain, masqueraded, withCredentials, withVolume]) {
      expect(manifest?.apiVersion).toBe(registryMirrorApi.apiVersion);
      expect(manifest?.kind).toBe(registryMirrorApi.kind);
    }
  });

  test("upstreamUrl hub.docker.io is Docker Hub; masqueradeUrl defaults to mirror-<upstream> as there", () => {
    const spec = parseRegistryMirrorSpec(plain?.spec);
    // hub.docker.io serves no registry API: Docker Hub's is registry-1.docker.io.
    expect(spec.upstreamUrl).toBe("https://registry-1.docker.io");
    expect(spec.masqueradeHost).toBe("mirror-hub.docker.io");
    expect(spec.masqueradeHostGiven).toBe(false);
    expect(spec.mirrorOf).toEqual(["docker.io", "registry-1.docker.io", "index.docker.io"]);
    expect(spec.nodeConfiguration.modes).toEqual(["containerd"]);
    expect(spec.credentialsSecret).toBeNull();
    // mirror-operator's default volume
    expect(spec.storage).toEqual({
      kind: "pvc",
      volumeClaimTemplate: {
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "20Gi" } } },
      },
      retention: { whenDeleted: "Retain", whenScaled: "Retain" },
    });
  });

  test("masqueradeUrl, credentialsSecret and volumeClaimTemplate keep their meaning", () => {
    const masquerade = parseRegistryMirrorSpec(masqueraded?.spec);
    expect(masquerade.masqueradeHost).toBe("local.docker.io");
    // mirror-operator's "hostess": nodes map the masquerade name to the mirror.
    expect(masquerade.nodeConfiguration.modes).toEqual(["containerd", "hosts-file"]);
    expect(parseRegistryMirrorSpec(withCredentials?.spec).credentialsSecret).toEqual({
      name: "internal-mirror",
      namespace: null,
    });
    expect(parseRegistryMirrorSpec(withVolume?.spec).storage).toEqual({
      kind: "pvc",
      volumeClaimTemplate: {
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "20Gi" } } },
      },
      retention: { whenDeleted: "Retain", whenScaled: "Retain" },
    });
  });

  test("a masqueradeUrl with modes given keeps those modes", () => {
    const spec = parseRegistryMirrorSpec({
      upstreamUrl: "quay.io",
      masqueradeUrl: "quay-mirror.internal",
      nodeConfiguration: { modes: ["docker"] },
    });
    expect(spec.nodeConfiguration.modes).toEqual(["docker"]);
    expect(spec.masqueradeHostGiven).toBe(true);
  });
});

describe("regmirror's fields", () => {
  test("a spec using every field", () => {
    const [manifest] = manifests("full-spec.yml");
    const spec = parseRegistryMirrorSpec(manifest?.spec);
    expect(spec).toEqual({
      upstreamUrl: "https://registry-1.docker.io",
      masqueradeHost: "mirror.docker.internal",
      masqueradeHostGiven: true,
      mirrorOf: ["docker.io", "registry-1.docker.io"],
      credentialsSecret: { name: "docker-hub-credentials", namespace: "default" },
      upstreamCaBundle: { configMapName: "corporate-proxy-ca", key: "ca-bundle.pem" },
      tls: {
        mode: "operator-ca",
        certificateDurationMs: 90 * 86_400_000,
        renewBeforeMs: 15 * 86_400_000,
        dnsNames: ["registry.example.com"],
        ipAddresses: ["192.0.2.10"],
        includeNodeAddresses: false,
      },
      replicas: 3,
      storage: {
        kind: "s3",
        bucket: "regmirror-cache",
        region: "eu-west-1",
        endpoint: null,
        forcePathStyle: false,
        prefix: "docker-hub",
        credentials: { mode: "web-identity", roleArn: "arn:aws:iam::123456789012:role/regmirror" },
      },
      blobTtlMs: 7 * 86_400_000,
      maxSizeBytes: 500 * 2 ** 30,
      exposure: {
        type: "Ingress",
        host: "mirror.example.com",
        className: "nginx",
        annotations: {},
      },
      placement: {
        nodeSelector: { "dtr.cache": "true" },
        tolerations: [{ key: "dtr.cache", operator: "Exists", effect: "NoSchedule" }],
        priorityClassName: "system-cluster-critical",
      },
      clientAuth: { mode: "htpasswd", htpasswdSecret: "docker-hub-users" },
      nodeConfiguration: {
        modes: ["containerd", "docker", "cri-o", "hosts-file", "imageswap", "webhook"],
        nodeSelector: { "kubernetes.io/os": "linux" },
        tolerations: [{ operator: "Exists", effect: "NoSchedule" }],
        resources: { requests: { memory: "128Mi" } },
        containerd: { certsDirectory: "/etc/containerd/certs.d", dialTimeoutMs: 1000 },
        imageswap: { configMapName: "imageswap-maps", namespace: "imageswap-system" },
        webhook: {
          namespaceSelector: {
            matchExpressions: [{ key: "team", operator: "In", values: ["payments"] }],
          },
          objectSelector: { matchLabels: { "regmirror.dev/rewrite": "true" } },
          excludeNamespaces: ["monitoring"],
          timeoutSeconds: 2,
        },
      },
      resources: { requests: { cpu: "500m", memory: "256Mi" }, limits: { memory: "1Gi" } },
      warmAhead: { namespaces: ["payments"], concurrency: 4 },
    });
  });

  test("defaults for a minimal Docker Hub mirror", () => {
    const spec = parseRegistryMirrorSpec({ upstreamUrl: "registry-1.docker.io" });
    expect(spec.mirrorOf).toEqual(["docker.io", "registry-1.docker.io", "index.docker.io"]);
    expect(spec.replicas).toBe(1);
    expect(spec.exposure).toEqual({ type: "ClusterIP" });
    expect(spec.tls).toEqual({
      mode: "operator-ca",
      certificateDurationMs: 90 * 86_400_000,
      renewBeforeMs: 30 * 86_400_000,
      dnsNames: [],
      ipAddresses: [],
      includeNodeAddresses: false,
    });
    expect(spec.nodeConfiguration.modes).toEqual(["containerd"]);
    expect(spec.nodeConfiguration.containerd.dialTimeoutMs).toBe(2000);
    // The node agent runs on tainted nodes too; both containers get the measured defaults.
    expect(spec.nodeConfiguration.tolerations).toEqual([{ operator: "Exists" }]);
    expect(spec.resources).toEqual(registryMirrorDefaults.cacheResources);
    expect(spec.nodeConfiguration.resources).toEqual(registryMirrorDefaults.nodeAgentResources);
    expect(spec.blobTtlMs).toBeNull();
    expect(spec.maxSizeBytes).toBeNull();
    expect(spec.clientAuth).toEqual({ mode: "none" });
    expect(spec.nodeConfiguration.webhook).toEqual({
      namespaceSelector: {},
      objectSelector: {},
      excludeNamespaces: [],
      timeoutSeconds: 3,
    });
    expect(spec.warmAhead).toBeNull();
  });

  test("client auth: pass-through by default with credentials; anonymous clients only when written", () => {
    const upstreamUrl = "registry-1.docker.io";
    const credentialsSecret = "hub";
    expect(parseRegistryMirrorSpec({ upstreamUrl, credentialsSecret }).clientAuth).toEqual({
      mode: "pass-through",
    });
    expect(
      parseRegistryMirrorSpec({ upstreamUrl, credentialsSecret, clientAuth: { mode: "none" } })
        .clientAuth,
    ).toEqual({ mode: "none" });
    expect(
      parseRegistryMirrorSpec({
        upstreamUrl,
        clientAuth: { mode: "htpasswd", htpasswdSecret: "users" },
      }).clientAuth,
    ).toEqual({ mode: "htpasswd", htpasswdSecret: "users" });
  });

  test("a user TLS secret, NodePort exposure, static S3 credentials", () => {
    const spec = parseRegistryMirrorSpec({
      upstreamUrl: "quay.io",
      tls: { secretName: "mirror-tls" },
      exposure: { type: "NodePort", nodePort: 30500 },
      storage: {
        s3: {
          bucket: "b",
          endpoint: "http://minio.storage:9000",
          forcePathStyle: true,
          credentials: { mode: "static", secretName: "s3-keys" },
        },
      },
    });
    expect(spec.tls).toEqual({ mode: "secret", secretName: "mirror-tls" });
    expect(spec.exposure).toEqual({ type: "NodePort", nodePort: 30500 });
    expect(spec.storage).toMatchObject({
      kind: "s3",
      endpoint: "http://minio.storage:9000",
      credentials: { mode: "static", secretName: "s3-keys" },
    });
  });
});

describe("an invalid spec names the field, the value and what was expected", () => {
  test.each<[string, unknown, Partial<ConfigProblem>]>([
    ["missing upstreamUrl", {}, { path: "spec.upstreamUrl", value: "(missing)" }],
    [
      "an upstream URL with a path",
      { upstreamUrl: "https://quay.io/v2/" },
      { path: "spec.upstreamUrl", value: '"https://quay.io/v2/"' },
    ],
    [
      "a misspelled field",
      { upstreamUrl: "quay.io", masqueradeURL: "mirror.quay" },
      {
        path: "spec.masqueradeURL",
        expected: expect.stringContaining("did you mean masqueradeUrl?"),
      },
    ],
    [
      "a bad Secret name",
      { upstreamUrl: "quay.io", credentialsSecret: "My_Secret" },
      { path: "spec.credentialsSecret", value: '"My_Secret"' },
    ],
    [
      "htpasswd client auth without its Secret",
      { upstreamUrl: "quay.io", clientAuth: { mode: "htpasswd" } },
      {
        path: "spec.clientAuth.htpasswdSecret",
        expected: "the name of a Secret with an htpasswd key",
      },
    ],
    [
      "an htpasswd Secret with pass-through",
      { upstreamUrl: "quay.io", clientAuth: { mode: "pass-through", htpasswdSecret: "users" } },
      {
        path: "spec.clientAuth.htpasswdSecret",
        expected: "no htpasswdSecret with mode pass-through",
      },
    ],
    [
      "an unknown client auth mode",
      { upstreamUrl: "quay.io", clientAuth: { mode: "token" } },
      { path: "spec.clientAuth.mode", value: '"token"' },
    ],
    [
      "zero replicas",
      { upstreamUrl: "quay.io", replicas: 0 },
      { path: "spec.replicas", value: "0", expected: "at least 1" },
    ],
    [
      "a bad duration",
      { upstreamUrl: "quay.io", blobTtl: "a week" },
      { path: "spec.blobTtl", value: '"a week"' },
    ],
    [
      "a bad size",
      { upstreamUrl: "quay.io", maxSize: "50G" },
      { path: "spec.maxSize", value: '"50G"' },
    ],
    [
      "a bad volume size",
      {
        upstreamUrl: "quay.io",
        volumeClaimTemplate: { spec: { resources: { requests: { storage: "20 GB" } } } },
      },
      { path: "spec.volumeClaimTemplate.spec.resources.requests.storage", value: '"20 GB"' },
    ],
    [
      "a node port out of range",
      { upstreamUrl: "quay.io", exposure: { type: "NodePort", nodePort: 8080 } },
      { path: "spec.exposure.nodePort", value: "8080", expected: "a port between 30000 and 32767" },
    ],
    [
      "an unknown exposure",
      { upstreamUrl: "quay.io", exposure: { type: "HostPort" } },
      {
        path: "spec.exposure.type",
        expected: "one of: ClusterIP, NodePort, LoadBalancer, Ingress",
      },
    ],
    [
      "a zero size",
      { upstreamUrl: "quay.io", maxSize: 0 },
      { path: "spec.maxSize", value: "0", expected: "a size above 0 like 500GiB" },
    ],
    [
      "a negative volume size",
      {
        upstreamUrl: "quay.io",
        volumeClaimTemplate: { spec: { resources: { requests: { storage: -1 } } } },
      },
      { path: "spec.volumeClaimTemplate.spec.resources.requests.storage", value: "-1" },
    ],
    [
      "a zero volume size",
      {
        upstreamUrl: "quay.io",
        volumeClaimTemplate: { spec: { resources: { requests: { storage: "0Gi" } } } },
      },
      { path: "spec.volumeClaimTemplate.spec.resources.requests.storage", value: '"0Gi"' },
    ],
    [
      "a certificate IP that is no IP",
      { upstreamUrl: "quay.io", tls: { ipAddresses: ["10.0.0"] } },
      { path: "spec.tls.ipAddresses[0]", value: '"10.0.0"' },
    ],
    [
      "a toleration operator",
      {
        upstreamUrl: "quay.io",
        placement: { tolerations: [{ key: "dtr.cache", operator: "Exist" }] },
      },
      {
        path: "spec.placement.tolerations[0].operator",
        value: '"Exist"',
        expected: "one of: Exists, Equal",
      },
    ],
    [
      "a node selector value",
      { upstreamUrl: "quay.io", placement: { nodeSelector: { "dtr.cache": true } } },
      { path: 'spec.placement.nodeSelector["dtr.cache"]', value: "true" },
    ],
    [
      "an unknown node mode",
      { upstreamUrl: "quay.io", nodeConfiguration: { modes: ["containerd", "podman"] } },
      { path: "spec.nodeConfiguration.modes[1]", value: '"podman"' },
    ],
  ])("%s", (_name, spec, problem) => {
    expect(problemsOf(spec)).toEqual([expect.objectContaining(problem)]);
  });

  test.each<[string, unknown, string]>([
    [
      "S3 and a volume",
      { upstreamUrl: "quay.io", storage: { s3: { bucket: "b" } }, volumeClaimTemplate: {} },
      "spec.volumeClaimTemplate",
    ],
    [
      "Ingress without a host",
      { upstreamUrl: "quay.io", exposure: { type: "Ingress" } },
      "spec.exposure.ingress",
    ],
    [
      "a node port without NodePort",
      { upstreamUrl: "quay.io", exposure: { type: "ClusterIP", nodePort: 30001 } },
      "spec.exposure.nodePort",
    ],
    [
      "renewal settings with a user secret",
      { upstreamUrl: "quay.io", tls: { secretName: "t", renewBefore: "24h" } },
      "spec.tls.renewBefore",
    ],
    [
      "renewBefore not shorter than the duration",
      { upstreamUrl: "quay.io", tls: { certificateDuration: "24h", renewBefore: "48h" } },
      "spec.tls.renewBefore",
    ],
    [
      "static S3 without a Secret",
      { upstreamUrl: "quay.io", storage: { s3: { bucket: "b", credentials: { mode: "static" } } } },
      "spec.storage.s3.credentials.secretName",
    ],
    [
      "a mode given twice",
      { upstreamUrl: "quay.io", nodeConfiguration: { modes: ["docker", "docker"] } },
      "spec.nodeConfiguration.modes[1]",
    ],
    [
      "imageswap settings without the mode",
      { upstreamUrl: "quay.io", nodeConfiguration: { modes: ["docker"], imageswap: {} } },
      "spec.nodeConfiguration.imageswap",
    ],
    [
      "webhook settings without the mode",
      { upstreamUrl: "quay.io", nodeConfiguration: { modes: ["containerd"], webhook: {} } },
      "spec.nodeConfiguration.webhook",
    ],
    [
      "a webhook timeout above 10 seconds",
      {
        upstreamUrl: "quay.io",
        nodeConfiguration: { modes: ["webhook"], webhook: { timeoutSeconds: 30 } },
      },
      "spec.nodeConfiguration.webhook.timeoutSeconds",
    ],
    [
      "a label selector operator that does not exist",
      {
        upstreamUrl: "quay.io",
        nodeConfiguration: {
          modes: ["webhook"],
          webhook: { namespaceSelector: { matchExpressions: [{ key: "a", operator: "Is" }] } },
        },
      },
      "spec.nodeConfiguration.webhook.namespaceSelector.matchExpressions[0].operator",
    ],
    [
      "warm-ahead concurrency 0",
      { upstreamUrl: "quay.io", warmAhead: { concurrency: 0 } },
      "spec.warmAhead.concurrency",
    ],
    [
      "a host given twice",
      { upstreamUrl: "quay.io", mirrorOf: ["quay.io", "quay.io"] },
      "spec.mirrorOf[1]",
    ],
    [
      "certificate names with a user secret",
      { upstreamUrl: "quay.io", tls: { secretName: "t", dnsNames: ["a.example"] } },
      "spec.tls.dnsNames",
    ],
    [
      "node addresses without NodePort",
      { upstreamUrl: "quay.io", tls: { includeNodeAddresses: true } },
      "spec.tls.includeNodeAddresses",
    ],
    [
      "a load balancer setting without LoadBalancer",
      { upstreamUrl: "quay.io", exposure: { type: "ClusterIP", loadBalancer: {} } },
      "spec.exposure.loadBalancer",
    ],
    [
      "a volume retention policy with S3",
      {
        upstreamUrl: "quay.io",
        storage: { s3: { bucket: "b" } },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete" },
      },
      "spec.persistentVolumeClaimRetentionPolicy",
    ],
    [
      "a credentials namespace without credentials",
      { upstreamUrl: "quay.io", credentialsSecretNamespace: "default" },
      "spec.credentialsSecretNamespace",
    ],
  ])("%s", (_name, spec, path) => {
    expect(problemsOf(spec).map((problem) => problem.path)).toEqual([path]);
  });
});
