// The operator against a real kube-apiserver: what a user sees after creating, changing and
// deleting RegistryMirrors. No kubelet or controller manager runs, so pods never start: tests
// that need readiness write the StatefulSet / DaemonSet status themselves (names say so).
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { loadCacheConfigFromYaml } from "@regmirror/schemas";
import { htpasswdFile, makeCertificateAuthority } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  capturingLogger,
  conditionOf,
  createNamespace,
  eventually,
  get,
  getMirror,
  type Json,
  mirrorApi,
  type OperatorCluster,
  operatorNamespace,
  patchDaemonSetRolledOut,
  patchWorkloadReady,
  peerPodEnvironment,
  startOperatorCluster,
} from "./operator-cluster.js";

let cluster: OperatorCluster;
const logger = capturingLogger();

beforeAll(async () => {
  cluster = await startOperatorCluster();
  cluster.startOperator({
    logger,
    imagePullSecrets: ["regmirror-pull"],
    imageswapConfigMapName: "maps-from-the-flag",
  });
});

async function eventsAbout(mirror: string, reason: string): Promise<KubeObject[]> {
  const events = await cluster.client.list<KubeObject>("events.k8s.io/v1", "Event", {
    namespace: "default",
  });
  return events.items.filter(
    (event) => event.reason === reason && (event.regarding as { name?: string }).name === mirror,
  );
}

afterAll(async () => {
  await cluster?.stop();
});

function createMirror(name: string, spec: Record<string, unknown>): Promise<KubeObject> {
  return cluster.client.create({ ...mirrorApi, metadata: { name }, spec });
}

async function patchMirrorSpec(name: string, spec: Record<string, unknown>): Promise<void> {
  await cluster.client.patch({ ...mirrorApi, name }, { spec }, "application/merge-patch+json");
}

function podSpec(workload: KubeObject) {
  return (workload.spec as { template: { spec: Json } }).template.spec;
}

function decodedSecret(secret: KubeObject, key: string): string {
  return Buffer.from((secret.data as Record<string, string>)[key] ?? "", "base64").toString();
}

describe("a RegistryMirror on a real API server", () => {
  it("creates every owned object with the expected spec, owned by the mirror", async () => {
    await cluster.client.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "hub-credentials", namespace: operatorNamespace },
      stringData: { username: "puller", password: "s3cret-pass" },
    });
    const mirror = await createMirror("hub", {
      upstreamUrl: "https://registry-1.docker.io",
      credentialsSecret: "hub-credentials",
      blobTtl: "24h",
      replicas: 2,
      volumeClaimTemplate: {
        spec: { storageClassName: "fast", resources: { requests: { storage: "10Gi" } } },
      },
      nodeConfiguration: { modes: ["containerd", "hosts-file"] },
    });
    const names = {
      cache: "regmirror-hub",
      headless: "regmirror-hub-headless",
      config: "regmirror-hub-config",
      tls: "regmirror-hub-tls",
      ca: "regmirror-hub-ca",
      auth: "regmirror-hub-upstream-auth",
      agent: "regmirror-hub-node-agent",
      state: "regmirror-hub-node-state",
    };
    const daemonSet = await eventually(() => get(cluster.client, "DaemonSet", names.agent));
    const statefulSet = await get(cluster.client, "StatefulSet", names.cache);
    const service = await get(cluster.client, "Service", names.cache);
    const headless = await get(cluster.client, "Service", names.headless);
    const config = await get(cluster.client, "ConfigMap", names.config);
    const tls = await get(cluster.client, "Secret", names.tls);
    const ca = await get(cluster.client, "Secret", names.ca);
    const auth = await get(cluster.client, "Secret", names.auth);
    const state = await get(cluster.client, "ConfigMap", names.state);

    for (const owned of [daemonSet, statefulSet, service, headless, config, tls, ca, auth, state]) {
      // regmirror's labels and mirror-operator's (`kubectl get ... -l mirror=hub`).
      expect(owned.metadata?.labels).toMatchObject({
        "regmirror.dev/mirror": "hub",
        mirror: "hub",
        app: "docker-registry",
      });
      expect(owned.metadata?.ownerReferences).toEqual([
        {
          apiVersion: "regmirror.dev/v1alpha1",
          kind: "RegistryMirror",
          name: "hub",
          uid: mirror.metadata?.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      const managers = (owned.metadata?.managedFields ?? []).map((entry) => entry.manager);
      expect(managers).toContain("regmirror-operator");
    }

    // The cache: a StatefulSet with the mirror's volume claim template and restricted pods.
    const stsSpec = statefulSet.spec as Json;
    expect(stsSpec.replicas).toBe(2);
    expect(stsSpec.serviceName).toBe(names.headless);
    expect(stsSpec.volumeClaimTemplates[0].metadata.name).toBe("data");
    expect(stsSpec.volumeClaimTemplates[0].spec.storageClassName).toBe("fast");
    expect(stsSpec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe("10Gi");
    expect(stsSpec.volumeClaimTemplates[0].spec.accessModes).toEqual(["ReadWriteOnce"]);
    // Volumes outlive the mirror unless the spec says otherwise (as in Kubernetes).
    expect(stsSpec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: "Retain",
      whenScaled: "Retain",
    });
    const cachePod = podSpec(statefulSet);
    expect(cachePod.containers[0].image).toBe("registry.example/regmirror-cache:test");
    expect(cachePod.containers[0].args).toEqual(["serve", "/etc/regmirror/cache/config.yml"]);
    expect(cachePod.securityContext.runAsNonRoot).toBe(true);
    expect(cachePod.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
    expect(cachePod.imagePullSecrets).toEqual([{ name: "regmirror-pull" }]);

    // The config is one the cache itself accepts, with the mirror's upstream and TTL.
    const configText = (config.data as Record<string, string>)["config.yml"] ?? "";
    // Two replicas: peers, whose own URL and secret come from the pod's environment.
    const effective = loadCacheConfigFromYaml(configText, "config.yml", {
      environment: peerPodEnvironment,
    });
    expect(effective.upstreams.map((upstream) => upstream.endpoints)).toEqual([
      ["https://registry-1.docker.io"],
    ]);
    expect(effective.blobTtlMs).toBe(24 * 3_600_000);
    expect(configText).not.toContain("s3cret-pass");
    // With upstream credentials, clients must bring their own: pass-through unless written.
    expect(effective.auth.mode).toBe("pass-through");
    // The credentials reach the cache as a Docker config file in a Secret of their own.
    const dockerConfig = JSON.parse(decodedSecret(auth, "config.json"));
    expect(Buffer.from(dockerConfig.auths["registry-1.docker.io"].auth, "base64").toString()).toBe(
      "puller:s3cret-pass",
    );

    // Services: ClusterIP on 443 and a headless one.
    const clusterIp = (service.spec as Json).clusterIP as string;
    expect((service.spec as Json).type).toBe("ClusterIP");
    expect((service.spec as Json).ports[0].port).toBe(443);
    expect((headless.spec as Json).clusterIP).toBe("None");

    // TLS: a serving certificate from the operator's CA covering the Service names and IP.
    expect(tls.type).toBe("kubernetes.io/tls");
    const certificate = new x509.X509Certificate(decodedSecret(tls, "tls.crt"));
    const sans = certificate
      .getExtension(x509.SubjectAlternativeNameExtension)
      ?.names.items.map((name) => name.value);
    expect(sans).toEqual(
      expect.arrayContaining([
        clusterIp,
        `regmirror-hub.${operatorNamespace}.svc`,
        `regmirror-hub.${operatorNamespace}.svc.cluster.local`,
        "mirror-registry-1.docker.io",
      ]),
    );
    const authority = new x509.X509Certificate(decodedSecret(ca, "ca.crt"));
    expect(await certificate.verify({ publicKey: authority.publicKey, signatureOnly: true })).toBe(
      true,
    );

    // The node agent: the operator's image with `node-agent`, and the desired node state.
    const agentPod = podSpec(daemonSet);
    expect(agentPod.containers[0].image).toBe("registry.example/regmirror-operator:test");
    expect(agentPod.imagePullSecrets).toEqual([{ name: "regmirror-pull" }]);
    expect(agentPod.containers[0].args.slice(0, 3)).toEqual([
      "node-agent",
      "--state-file",
      "/etc/regmirror/node-state/node-state.json",
    ]);
    expect(agentPod.containers[0].args).toContain("0.0.0.0:9464");
    // One agent per mirror per node: named by the mirror, so their node files stay apart.
    const instanceAt = agentPod.containers[0].args.indexOf("--instance");
    expect(agentPod.containers[0].args[instanceAt + 1]).toBe("hub");
    expect(agentPod.containers[0].ports).toMatchObject([
      { name: "http", containerPort: 9464, protocol: "TCP" },
    ]);
    // Ready means configured (a conflict or a bad state keeps the pod unready); alive means up.
    expect(agentPod.containers[0].readinessProbe.httpGet).toMatchObject({
      path: "/readyz",
      port: "http",
    });
    expect(agentPod.containers[0].livenessProbe.httpGet).toMatchObject({
      path: "/healthz",
      port: "http",
    });
    const nodeState = JSON.parse((state.data as Record<string, string>)["node-state.json"] ?? "");
    expect(nodeState.runtimes).toEqual(["containerd", "hosts-file"]);
    expect(nodeState.mirrors[0].endpoint).toBe("https://mirror-registry-1.docker.io");
    // Docker Hub's names, and the masquerade name nodes map to the mirror (pulls by that name).
    expect(nodeState.mirrors[0].registries.map((entry: { host: string }) => entry.host)).toEqual([
      "docker.io",
      "registry-1.docker.io",
      "index.docker.io",
      "mirror-registry-1.docker.io",
    ]);
    expect(nodeState.mirrors[0].caPem).toBe(decodedSecret(ca, "ca.crt"));
    expect(nodeState.hostsFileEntries).toEqual([
      { host: "mirror-registry-1.docker.io", ip: clusterIp },
    ]);

    // The mirror is claimed by this installation, which says so, and labelled for mirror-operator's command.
    const claimed = await eventually(async () => {
      const current = await getMirror(cluster.client, "hub");
      expect(conditionOf(current, "Claimed")?.status).toBe("True");
      return current;
    });
    expect(claimed.metadata?.annotations?.["regmirror.dev/owner"]).toBe(
      `${operatorNamespace}/regmirror-operator`,
    );
    expect(claimed.metadata?.labels?.mirror).toBe("hub");
    expect(conditionOf(claimed, "Claimed")?.message).toContain(
      `${operatorNamespace}/regmirror-operator`,
    );
    // What was made is said in a Normal Event.
    const applied = await eventually(async () => {
      const events = await eventsAbout("hub", "Applied");
      expect(events.length).toBeGreaterThan(0);
      return events;
    });
    expect(applied[0]?.type).toBe("Normal");
    expect(applied.map((event) => event.note).join(" ")).toContain(
      "created StatefulSet regmirror-hub",
    );
  });

  it("reports Progressing until the cache pods are ready and the nodes configured, then Ready (statuses patched by the test)", async () => {
    const notReady = await eventually(async () => {
      const mirror = await getMirror(cluster.client, "hub");
      expect((mirror.status as Json)?.observedGeneration).toBe(mirror.metadata?.generation);
      expect(conditionOf(mirror, "Ready")?.status).toBe("False");
      return mirror;
    });
    expect(conditionOf(notReady, "Ready")?.reason).toBe("CachePodsNotReady");
    expect(conditionOf(notReady, "Progressing")?.status).toBe("True");
    expect(conditionOf(notReady, "Degraded")?.status).toBe("False");

    await patchWorkloadReady(cluster.client, "StatefulSet", "regmirror-hub", 2);
    await eventually(async () => {
      const mirror = await getMirror(cluster.client, "hub");
      expect(conditionOf(mirror, "Ready")?.reason).toBe("NodesNotConfigured");
      expect((mirror.status as Json)?.readyReplicas).toBe(2);
    });

    await patchDaemonSetRolledOut(cluster.client, "regmirror-hub-node-agent", 3);
    const ready = await eventually(async () => {
      const mirror = await getMirror(cluster.client, "hub");
      expect(conditionOf(mirror, "Ready")?.status).toBe("True");
      return mirror;
    });
    const service = await get(cluster.client, "Service", "regmirror-hub");
    expect(ready.status).toMatchObject({
      readyReplicas: 2,
      nodesConfigured: 3,
      nodesTotal: 3,
      serviceAddress: `${(service.spec as Record<string, string>).clusterIP}:443`,
    });
    expect(conditionOf(ready, "Progressing")?.status).toBe("False");
  });

  it("changes nothing when it reconciles a mirror whose objects are as desired", async () => {
    const kinds = [
      ["StatefulSet", "regmirror-hub"],
      ["DaemonSet", "regmirror-hub-node-agent"],
      ["Service", "regmirror-hub"],
      ["Secret", "regmirror-hub-tls"],
      ["ConfigMap", "regmirror-hub-config"],
      ["ConfigMap", "regmirror-hub-node-state"],
    ] as const;
    const versions = async () =>
      Promise.all(
        kinds.map(
          async ([kind, name]) => (await get(cluster.client, kind, name)).metadata?.resourceVersion,
        ),
      );
    const before = await versions();
    const mirrorBefore = await getMirror(cluster.client, "hub");
    const appliedEvents = async () =>
      JSON.stringify(
        (await eventsAbout("hub", "Applied")).map((event) => [event.metadata?.name, event.series]),
      );
    const eventsBefore = await appliedEvents();
    const reconciles = () =>
      logger.entries.filter((entry) => entry.message === "reconciled" && entry.fields.key === "hub")
        .length;
    const count = reconciles();
    // A label change is an update event (a reconcile) without a new generation.
    await cluster.client.patch(
      { ...mirrorApi, name: "hub" },
      { metadata: { labels: { touched: "yes" } } },
      "application/merge-patch+json",
    );
    await eventually(() => expect(reconciles()).toBeGreaterThan(count));
    expect(await versions()).toEqual(before);
    const mirrorAfter = await getMirror(cluster.client, "hub");
    expect(mirrorAfter.status).toEqual(mirrorBefore.status);
    // Nothing changed, so no Normal Event either.
    expect(await appliedEvents()).toBe(eventsBefore);
  });

  it("serves with the user's TLS Secret and gives nodes its ca.crt, making no CA of its own", async () => {
    const authority = await makeCertificateAuthority({ commonName: "user CA" });
    const serving = await authority.issueServerCertificate(["mirror.user.example"]);
    await cluster.client.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "user-tls", namespace: operatorNamespace },
      type: "kubernetes.io/tls",
      stringData: {
        "tls.crt": serving.certificatePem,
        "tls.key": serving.keyPem,
        "ca.crt": authority.certificatePem,
      },
    });
    await createMirror("own-tls", { upstreamUrl: "quay.io", tls: { secretName: "user-tls" } });
    const statefulSet = await eventually(() =>
      get(cluster.client, "StatefulSet", "regmirror-own-tls"),
    );
    const volumes = (statefulSet.spec as Json).template.spec.volumes as {
      name: string;
      secret?: { secretName: string };
    }[];
    expect(volumes.find((volume) => volume.name === "tls")?.secret?.secretName).toBe("user-tls");
    // The operator writes the nodes' state after the StatefulSet: wait for it too.
    const state = await eventually(() =>
      get(cluster.client, "ConfigMap", "regmirror-own-tls-node-state"),
    );
    const nodeState = JSON.parse((state.data as Record<string, string>)["node-state.json"] ?? "");
    expect(nodeState.mirrors[0].caPem).toBe(authority.certificatePem);
    await expect(get(cluster.client, "Secret", "regmirror-own-tls-ca")).rejects.toThrow(/404/);
    await expect(get(cluster.client, "Secret", "regmirror-own-tls-tls")).rejects.toThrow(/404/);

    // Replicas check each other against the Service's name, which this certificate lacks.
    await patchMirrorSpec("own-tls", { replicas: 2 });
    const degraded = await eventually(async () => {
      const current = await getMirror(cluster.client, "own-tls");
      expect(conditionOf(current, "Degraded")?.reason).toBe("PeerCertificateMismatch");
      return conditionOf(current, "Degraded");
    });
    expect(degraded?.status).toBe("True");
    expect(degraded?.message).toContain(
      `names mirror.user.example, not regmirror-own-tls.${operatorNamespace}.svc`,
    );
  });

  it("rolls out spec changes: replicas, TTL, upstream and exposure", async () => {
    const before = await get(cluster.client, "StatefulSet", "regmirror-hub");
    await patchMirrorSpec("hub", {
      replicas: 3,
      blobTtl: "2h",
      upstreamUrl: "https://mirror.gcr.io",
      mirrorOf: ["docker.io"],
      exposure: { type: "NodePort", nodePort: 31500 },
    });
    const statefulSet = await eventually(async () => {
      const current = await get(cluster.client, "StatefulSet", "regmirror-hub");
      expect((current.spec as Record<string, number>).replicas).toBe(3);
      return current;
    });
    const config = await get(cluster.client, "ConfigMap", "regmirror-hub-config");
    const effective = loadCacheConfigFromYaml(
      (config.data as Record<string, string>)["config.yml"] ?? "",
      "config.yml",
      { environment: peerPodEnvironment },
    );
    expect(effective.blobTtlMs).toBe(2 * 3_600_000);
    expect(effective.upstreams[0]?.endpoints).toEqual(["https://mirror.gcr.io"]);
    // A new config rolls the pods.
    const hashOf = (object: KubeObject) =>
      (object.spec as Json).template.metadata.annotations["regmirror.dev/rollout-hash"];
    expect(hashOf(statefulSet)).not.toBe(hashOf(before));
    const service = await get(cluster.client, "Service", "regmirror-hub");
    expect((service.spec as Json).type).toBe("NodePort");
    expect((service.spec as Json).ports[0].nodePort).toBe(31500);
    const mirror = await eventually(async () => {
      const current = await getMirror(cluster.client, "hub");
      expect((current.status as Json)?.nodePort).toBe(31500);
      return current;
    });
    // Three replicas wanted, two ready: not Ready any more.
    expect(conditionOf(mirror, "Ready")?.status).toBe("False");

    await patchMirrorSpec("hub", {
      exposure: {
        type: "Ingress",
        nodePort: null,
        ingress: { host: "mirror.example.com", className: "nginx" },
      },
    });
    const ingress = await eventually(() => get(cluster.client, "Ingress", "regmirror-hub"));
    expect(ingress.metadata?.annotations).toMatchObject({
      "nginx.ingress.kubernetes.io/ssl-passthrough": "true",
      "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS",
    });
    expect((ingress.spec as Json).ingressClassName).toBe("nginx");
    expect((ingress.spec as Json).rules[0].host).toBe("mirror.example.com");
    await eventually(async () => {
      const tls = await get(cluster.client, "Secret", "regmirror-hub-tls");
      const certificate = new x509.X509Certificate(decodedSecret(tls, "tls.crt"));
      const sans = certificate
        .getExtension(x509.SubjectAlternativeNameExtension)
        ?.names.items.map((name) => name.value);
      expect(sans).toContain("mirror.example.com");
      const current = await getMirror(cluster.client, "hub");
      expect((current.status as Json)?.serviceAddress).toBe("mirror.example.com:443");
    });
    const clientService = await get(cluster.client, "Service", "regmirror-hub");
    expect((clientService.spec as Json).type).toBe("ClusterIP");

    // Back to ClusterIP: the Ingress goes.
    await patchMirrorSpec("hub", { exposure: { type: "ClusterIP", ingress: null } });
    await eventually(async () => {
      await expect(get(cluster.client, "Ingress", "regmirror-hub")).rejects.toThrow(/404/);
    });
  });

  it("brings back an owned Service that someone deleted", async () => {
    const before = await get(cluster.client, "Service", "regmirror-hub");
    await cluster.client.delete({
      apiVersion: "v1",
      kind: "Service",
      namespace: operatorNamespace,
      name: "regmirror-hub",
    });
    const after = await eventually(() => get(cluster.client, "Service", "regmirror-hub"));
    expect(after.metadata?.uid).not.toBe(before.metadata?.uid);
  });

  it("removes the copy of a credentials Secret the spec no longer names, and applies a volume retention policy", async () => {
    await eventually(() => get(cluster.client, "Secret", "regmirror-hub-upstream-auth"));
    await patchMirrorSpec("hub", {
      credentialsSecret: null,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" },
    });
    await eventually(async () => {
      await expect(get(cluster.client, "Secret", "regmirror-hub-upstream-auth")).rejects.toThrow(
        /404/,
      );
    });
    const statefulSet = await eventually(async () => {
      const current = await get(cluster.client, "StatefulSet", "regmirror-hub");
      expect((current.spec as Json).persistentVolumeClaimRetentionPolicy).toEqual({
        whenDeleted: "Delete",
        whenScaled: "Retain",
      });
      return current;
    });
    const volumes = podSpec(statefulSet).volumes.map((volume: { name: string }) => volume.name);
    expect(volumes).not.toContain("upstream-auth");
    // The user's own Secret is not touched.
    await get(cluster.client, "Secret", "hub-credentials");
    // The Applied event is recorded after the objects change: wait for it.
    await eventually(async () => {
      const notes = (await eventsAbout("hub", "Applied")).map((event) => event.note).join(" ");
      expect(notes).toContain("deleted Secret regmirror-hub-upstream-auth");
      expect(notes).toContain("updated StatefulSet regmirror-hub");
    });
  });

  it("reports a missing credentials Secret in Degraded, in an Event and in the log", async () => {
    await createMirror("quay", { upstreamUrl: "quay.io", credentialsSecret: "does-not-exist" });
    const mirror = await eventually(async () => {
      const current = await getMirror(cluster.client, "quay");
      expect(conditionOf(current, "Degraded")?.status).toBe("True");
      return current;
    });
    expect(conditionOf(mirror, "Degraded")?.reason).toBe("CredentialsSecretMissing");
    expect(conditionOf(mirror, "Degraded")?.message).toContain("spec.credentialsSecret");
    expect(conditionOf(mirror, "Ready")?.status).toBe("False");
    const events = await cluster.client.list<KubeObject>("events.k8s.io/v1", "Event", {
      namespace: "default",
    });
    expect(
      events.items.some(
        (event) =>
          event.reason === "CredentialsSecretMissing" &&
          (event.regarding as { name?: string }).name === "quay" &&
          event.type === "Warning",
      ),
    ).toBe(true);
    expect(
      logger.entries.some(
        (entry) => entry.level === "error" && entry.fields.reason === "CredentialsSecretMissing",
      ),
    ).toBe(true);

    // Creating the Secret fixes it without touching the mirror.
    await cluster.client.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "does-not-exist", namespace: operatorNamespace },
      stringData: { username: "u", password: "p" },
    });
    await eventually(async () => {
      const current = await getMirror(cluster.client, "quay");
      expect(conditionOf(current, "Degraded")?.status).toBe("False");
    });
  });

  it("shares upstream credentials with anonymous clients only when written, says so in a condition, and takes htpasswd users from a Secret", async () => {
    await cluster.client.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "open-credentials", namespace: operatorNamespace },
      stringData: { username: "u", password: "p" },
    });
    await createMirror("open", {
      upstreamUrl: "quay.io",
      credentialsSecret: "open-credentials",
      clientAuth: { mode: "none" },
      exposure: { type: "NodePort" },
    });
    const open = await eventually(async () => {
      const current = await getMirror(cluster.client, "open");
      expect(conditionOf(current, "UpstreamCredentialsShared")?.status).toBe("True");
      return current;
    });
    expect(conditionOf(open, "UpstreamCredentialsShared")).toMatchObject({
      reason: "ClientAuthNone",
      message: expect.stringMatching(
        /anyone who reaches the mirror \(exposure NodePort\).*open-credentials/,
      ),
    });
    const configText = async () =>
      ((await get(cluster.client, "ConfigMap", "regmirror-open-config")).data as Json)[
        "config.yml"
      ];
    expect(loadCacheConfigFromYaml(await configText()).auth).toEqual({ mode: "none" });

    // htpasswd: a Secret that is missing, then broken, then right.
    await patchMirrorSpec("open", {
      clientAuth: { mode: "htpasswd", htpasswdSecret: "open-users" },
    });
    await eventually(async () => {
      const current = await getMirror(cluster.client, "open");
      expect(conditionOf(current, "Degraded")?.reason).toBe("HtpasswdSecretMissing");
    });
    const secretRef = {
      apiVersion: "v1",
      kind: "Secret",
      namespace: operatorNamespace,
      name: "open-users",
    };
    await cluster.client.create({
      ...secretRef,
      metadata: { name: "open-users", namespace: operatorNamespace },
      stringData: { htpasswd: "# users\nalice:not-a-bcrypt-hash\n" },
    });
    const broken = await eventually(async () => {
      const current = await getMirror(cluster.client, "open");
      expect(conditionOf(current, "Degraded")?.reason).toBe("HtpasswdSecretInvalid");
      return current;
    });
    expect(conditionOf(broken, "Degraded")?.message).toBe(
      `spec.clientAuth.htpasswdSecret: Secret ${operatorNamespace}/open-users key htpasswd line 2: expected user:bcrypt-hash (htpasswd -B)`,
    );
    const alice = { username: "alice", password: "alice-password" };
    await cluster.client.patch(
      secretRef,
      { stringData: { htpasswd: htpasswdFile([alice]) } },
      "application/merge-patch+json",
    );
    const fixed = await eventually(async () => {
      const current = await getMirror(cluster.client, "open");
      expect(conditionOf(current, "Degraded")?.status).toBe("False");
      expect(conditionOf(current, "UpstreamCredentialsShared")?.status).toBe("False");
      return current;
    });
    expect(conditionOf(fixed, "UpstreamCredentialsShared")?.reason).toBe("Htpasswd");
    expect(loadCacheConfigFromYaml(await configText()).auth).toMatchObject({
      mode: "htpasswd",
      htpasswdFile: "/etc/regmirror/client-auth/htpasswd",
    });
    const pod = podSpec(await get(cluster.client, "StatefulSet", "regmirror-open"));
    expect(pod.volumes).toContainEqual({
      name: "client-auth",
      secret: {
        secretName: "open-users",
        items: [{ key: "htpasswd", path: "htpasswd" }],
        defaultMode: 0o644,
      },
    });
    expect(pod.containers[0].volumeMounts).toContainEqual({
      name: "client-auth",
      mountPath: "/etc/regmirror/client-auth",
      readOnly: true,
    });

    // The cache reads the file at start-up: a changed Secret rolls the pods.
    const rolloutHash = async () =>
      (await get(cluster.client, "StatefulSet", "regmirror-open")).spec as Json;
    const before = (await rolloutHash()).template.metadata.annotations[
      "regmirror.dev/rollout-hash"
    ];
    await cluster.client.patch(
      secretRef,
      { stringData: { htpasswd: htpasswdFile([alice, { username: "bob", password: "bob-pw" }]) } },
      "application/merge-patch+json",
    );
    await eventually(async () => {
      const after = (await rolloutHash()).template.metadata.annotations[
        "regmirror.dev/rollout-hash"
      ];
      expect(after).not.toBe(before);
    });
  });

  it("runs a Deployment instead of a StatefulSet when the storage is S3", async () => {
    await createMirror("ghcr", {
      upstreamUrl: "https://ghcr.io",
      storage: {
        s3: {
          bucket: "layers",
          endpoint: "https://s3.example.com",
          credentials: { mode: "static", secretName: "s3-keys" },
        },
      },
      nodeConfiguration: { modes: [] },
    });
    const deployment = await eventually(() => get(cluster.client, "Deployment", "regmirror-ghcr"));
    const env = podSpec(deployment).containers[0].env;
    expect(env).toEqual(
      expect.arrayContaining([
        {
          name: "AWS_ACCESS_KEY_ID",
          valueFrom: { secretKeyRef: { name: "s3-keys", key: "accessKeyId", optional: false } },
        },
      ]),
    );
    await expect(get(cluster.client, "StatefulSet", "regmirror-ghcr")).rejects.toThrow(/404/);
    const config = await get(cluster.client, "ConfigMap", "regmirror-ghcr-config");
    const effective = loadCacheConfigFromYaml(
      (config.data as Record<string, string>)["config.yml"] ?? "",
    );
    expect(effective.storage).toMatchObject({ kind: "s3", bucket: "layers" });

    // Configuring no node: Ready depends on the cache pods alone (Deployment status patched by the test).
    await patchWorkloadReady(cluster.client, "Deployment", "regmirror-ghcr", 1);
    await eventually(async () => {
      const mirror = await getMirror(cluster.client, "ghcr");
      expect(conditionOf(mirror, "Ready")?.status).toBe("True");
    });
  });

  it("merges ImageSwap entries without clobbering the lines it does not own", async () => {
    await createNamespace(cluster.client, "imageswap-system");
    await cluster.client.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      // The operator's --imageswap-configmap: the mirror names none.
      metadata: { name: "maps-from-the-flag", namespace: "imageswap-system" },
      data: { maps: "default::\nquay.io::someone-else.example/quay\n" },
    });
    await createMirror("swap", {
      upstreamUrl: "quay.io",
      mirrorOf: ["quay.io", "ghcr.io", "registry.corp.example:5000"],
      nodeConfiguration: { modes: ["imageswap", "hosts-file"] },
    });
    const reference = {
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "imageswap-system",
      name: "maps-from-the-flag",
    };
    await eventually(async () => {
      const maps = await cluster.client.get<KubeObject>(reference);
      expect((maps.data as Record<string, string>).maps).toBe(
        "default::\nquay.io::someone-else.example/quay\nghcr.io::mirror-quay.io/ghcr.io\n" +
          // The cache's path prefix carries a registry's port as `_port`.
          "registry.corp.example:5000::mirror-quay.io/registry.corp.example_5000\n",
      );
    });
    const mirror = await eventually(async () => {
      const current = await getMirror(cluster.client, "swap");
      expect(conditionOf(current, "Degraded")?.reason).toBe("ImageSwapConflict");
      return current;
    });
    expect(conditionOf(mirror, "Degraded")?.message).toContain("quay.io");

    // Deleting the mirror removes its line and only its line (DaemonSet status patched by the test).
    await cluster.client.delete({ ...mirrorApi, name: "swap" });
    await eventually(async () => {
      const daemonSet = await get(cluster.client, "DaemonSet", "regmirror-swap-node-agent");
      expect(daemonSet.metadata?.annotations?.["regmirror.dev/node-agent-mode"]).toBe("uninstall");
    });
    await patchDaemonSetRolledOut(cluster.client, "regmirror-swap-node-agent", 1);
    await eventually(async () => {
      await expect(getMirror(cluster.client, "swap")).rejects.toThrow(/404/);
    });
    const maps = await cluster.client.get<KubeObject>(reference);
    expect((maps.data as Record<string, string>).maps).toBe(
      "default::\nquay.io::someone-else.example/quay\n",
    );
  });

  it("deletes a mirror only after the node agents removed their files (DaemonSet status patched by the test)", async () => {
    await cluster.client.delete({ ...mirrorApi, name: "hub" });
    // The agents get an empty desired state and a rollout; the mirror waits for them.
    const daemonSet = await eventually(async () => {
      const current = await get(cluster.client, "DaemonSet", "regmirror-hub-node-agent");
      expect(current.metadata?.annotations?.["regmirror.dev/node-agent-mode"]).toBe("uninstall");
      return current;
    });
    const state = await get(cluster.client, "ConfigMap", "regmirror-hub-node-state");
    const nodeState = JSON.parse((state.data as Record<string, string>)["node-state.json"] ?? "");
    expect(nodeState.mirrors).toEqual([]);
    expect(nodeState.hostsFileEntries).toEqual([]);
    const waiting = await eventually(async () => {
      const mirror = await getMirror(cluster.client, "hub");
      expect(conditionOf(mirror, "Progressing")?.reason).toBe("RemovingNodeConfiguration");
      return mirror;
    });
    expect(waiting.metadata?.deletionTimestamp).toBeDefined();
    expect(daemonSet.metadata?.generation).toBeGreaterThan(1);

    await patchDaemonSetRolledOut(cluster.client, "regmirror-hub-node-agent", 3);
    await eventually(async () => {
      await expect(getMirror(cluster.client, "hub")).rejects.toThrow(/404/);
    });
    // Said once: one Event (no repeat in its series) and one log line.
    const complete = await eventsAbout("hub", "NodeCleanupComplete");
    expect(complete.map((event) => [event.note, event.series])).toEqual([
      ["every node agent removed the mirror's files", undefined],
    ]);
    expect(await eventsAbout("hub", "NodeCleanupTimedOut")).toEqual([]);
    expect(
      logger.entries.filter(
        (entry) => entry.message === "mirror finalized" && entry.fields.mirror === "hub",
      ),
    ).toHaveLength(1);
    for (const [kind, name] of [
      ["DaemonSet", "regmirror-hub-node-agent"],
      ["StatefulSet", "regmirror-hub"],
      ["Service", "regmirror-hub"],
      ["Secret", "regmirror-hub-tls"],
      ["ConfigMap", "regmirror-hub-config"],
    ] as const) {
      await expect(get(cluster.client, kind, name)).rejects.toThrow(/404/);
    }
  });

  it("reports a spec only the operator can judge invalid, and still cleans the nodes on deletion (DaemonSet status patched by the test)", async () => {
    await createMirror("later-invalid", {
      upstreamUrl: "quay.io",
      nodeConfiguration: { modes: ["docker"] },
    });
    await eventually(() => get(cluster.client, "DaemonSet", "regmirror-later-invalid-node-agent"));
    // The CRD compares durations with days in front ("30d"), not after other units: the
    // operator's parser judges "1h1d" (25h, longer than the certificate's 1h).
    await patchMirrorSpec("later-invalid", {
      tls: { certificateDuration: "1h", renewBefore: "1h1d" },
    });
    const invalid = await eventually(async () => {
      const mirror = await getMirror(cluster.client, "later-invalid");
      expect(conditionOf(mirror, "Degraded")?.reason).toBe("InvalidSpec");
      return mirror;
    });
    expect(conditionOf(invalid, "Degraded")?.message).toContain("spec.tls.renewBefore");
    expect(conditionOf(invalid, "Ready")?.status).toBe("False");

    await cluster.client.delete({ ...mirrorApi, name: "later-invalid" });
    await eventually(async () => {
      const daemonSet = await get(
        cluster.client,
        "DaemonSet",
        "regmirror-later-invalid-node-agent",
      );
      expect(daemonSet.metadata?.annotations?.["regmirror.dev/node-agent-mode"]).toBe("uninstall");
    });
    const state = await get(cluster.client, "ConfigMap", "regmirror-later-invalid-node-state");
    expect(JSON.parse((state.data as Record<string, string>)["node-state.json"] ?? "")).toEqual({
      runtimes: ["docker"],
      mirrors: [],
      hostsFileEntries: [],
    });
    await patchDaemonSetRolledOut(cluster.client, "regmirror-later-invalid-node-agent", 2);
    await eventually(async () => {
      await expect(getMirror(cluster.client, "later-invalid")).rejects.toThrow(/404/);
    });
  });

  it("renews the serving certificate before it expires, from the same CA", async () => {
    // Renewal is due 3 s after issue: a 1 h certificate renewed 59m57s before its end.
    await createMirror("short-cert", {
      upstreamUrl: "quay.io",
      tls: { certificateDuration: "1h", renewBefore: "59m57s" },
      nodeConfiguration: { modes: [] },
    });
    const first = await eventually(() => get(cluster.client, "Secret", "regmirror-short-cert-tls"));
    const firstCertificate = new x509.X509Certificate(decodedSecret(first, "tls.crt"));
    const renewed = await eventually(async () => {
      const current = await get(cluster.client, "Secret", "regmirror-short-cert-tls");
      const certificate = new x509.X509Certificate(decodedSecret(current, "tls.crt"));
      expect(certificate.serialNumber).not.toBe(firstCertificate.serialNumber);
      return current;
    }, 20_000);
    expect(decodedSecret(renewed, "ca.crt")).toBe(decodedSecret(first, "ca.crt"));
    const authority = new x509.X509Certificate(decodedSecret(renewed, "ca.crt"));
    const certificate = new x509.X509Certificate(decodedSecret(renewed, "tls.crt"));
    expect(await certificate.verify({ publicKey: authority.publicKey, signatureOnly: true })).toBe(
      true,
    );
    expect(certificate.notAfter.getTime() - Date.now()).toBeGreaterThan(50 * 60_000);
    await cluster.client.delete({ ...mirrorApi, name: "short-cert" });
    await eventually(async () => {
      await expect(getMirror(cluster.client, "short-cert")).rejects.toThrow(/404/);
    });
  });
});

function ownerUid(object: KubeObject): string | undefined {
  return object.metadata?.ownerReferences?.find((reference) => reference.controller)?.uid;
}

// replicas > 1: the peer configuration, its Secret and RBAC, and their removal when the mirror
// goes back to one replica.
describe("a RegistryMirror with replicas: 3", () => {
  it("renders peers, their shared Secret and the right to list EndpointSlices; one replica takes them away", async () => {
    const mirror = await createMirror("peered", { upstreamUrl: "https://quay.io", replicas: 3 });
    const statefulSet = await eventually(() =>
      get(cluster.client, "StatefulSet", "regmirror-peered"),
    );
    const pod = (statefulSet.spec as Json).template.spec;
    expect(pod.serviceAccountName).toBe("regmirror-peered-cache");
    expect(pod.automountServiceAccountToken).toBe(true);
    const env = pod.containers[0].env as Json[];
    expect(env).toEqual(
      expect.arrayContaining([
        {
          name: "POD_IP",
          valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "status.podIP" } },
        },
        { name: "REGISTRY_REGMIRROR_PEERS_SELF", value: "https://$(POD_IP):5000" },
        {
          name: "REGISTRY_REGMIRROR_PEERS_SECRET",
          valueFrom: { secretKeyRef: { name: "regmirror-peered-peers", key: "secret" } },
        },
      ]),
    );

    // The secret: random, long enough for the cache, never in the ConfigMap.
    const secret = await get(cluster.client, "Secret", "regmirror-peered-peers");
    const shared = decodedSecret(secret, "secret");
    expect(shared.length).toBeGreaterThanOrEqual(32);
    expect(ownerUid(secret)).toBe(mirror.metadata?.uid);
    const configMap = await get(cluster.client, "ConfigMap", "regmirror-peered-config");
    const data = configMap.data as Record<string, string>;
    expect(JSON.stringify(data)).not.toContain(shared);
    // What a pod reads: the file plus its environment, through the cache's own loader.
    const config = loadCacheConfigFromYaml(data["config.yml"] ?? "", "config.yml", {
      environment: {
        REGISTRY_REGMIRROR_PEERS_SELF: "https://10.1.0.7:5000",
        REGISTRY_REGMIRROR_PEERS_SECRET: shared,
      },
    });
    expect(config.peers?.self).toBe("https://10.1.0.7:5000");
    expect(config.peers?.members).toMatchObject({
      kind: "kubernetes",
      namespace: operatorNamespace,
      service: "regmirror-peered",
      portName: "https",
      scheme: "https",
    });
    expect(config.peers?.tls).toEqual({
      caFile: "/etc/regmirror/cache/peer-ca.crt",
      serverName: `regmirror-peered.${operatorNamespace}.svc`,
    });
    const tls = await get(cluster.client, "Secret", "regmirror-peered-tls");
    expect(data["peer-ca.crt"]).toBe(decodedSecret(tls, "ca.crt"));

    // The pods' account may read EndpointSlices in the operator's namespace, nothing more.
    const account = await get(cluster.client, "ServiceAccount", "regmirror-peered-cache");
    const role = await get(cluster.client, "Role", "regmirror-peered-cache");
    const binding = await get(cluster.client, "RoleBinding", "regmirror-peered-cache");
    for (const object of [account, role, binding]) {
      expect(ownerUid(object)).toBe(mirror.metadata?.uid);
    }
    expect(role.rules).toEqual([
      {
        apiGroups: ["discovery.k8s.io"],
        resources: ["endpointslices"],
        verbs: ["get", "list", "watch"],
      },
    ]);
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: "regmirror-peered-cache", namespace: operatorNamespace },
    ]);

    // No controller manager runs: the test writes the slice the Service's controller would,
    // with the Service's labels. The status lists each replica and whether it is a member.
    const service = await get(cluster.client, "Service", "regmirror-peered");
    await cluster.client.create({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "regmirror-peered-abcde",
        namespace: operatorNamespace,
        labels: { ...service.metadata?.labels, "kubernetes.io/service-name": "regmirror-peered" },
      },
      addressType: "IPv4",
      ports: [{ name: "https", port: 5000, protocol: "TCP" }],
      endpoints: [
        {
          addresses: ["10.1.0.7"],
          conditions: { ready: true },
          targetRef: { kind: "Pod", name: "regmirror-peered-0" },
        },
        {
          addresses: ["10.1.0.8"],
          conditions: { ready: false },
          targetRef: { kind: "Pod", name: "regmirror-peered-1" },
        },
      ],
    });
    await eventually(async () => {
      const current = await getMirror(cluster.client, "peered");
      expect((current.status as Json)?.peers).toEqual([
        { address: "https://10.1.0.7:5000", pod: "regmirror-peered-0", ready: true },
        { address: "https://10.1.0.8:5000", pod: "regmirror-peered-1", ready: false },
      ]);
    });

    // A change that rolls the pods keeps the secret: replicas of both generations agree.
    await patchMirrorSpec("peered", { blobTtl: "2h" });
    await eventually(async () => {
      const current = await get(cluster.client, "ConfigMap", "regmirror-peered-config");
      expect((current.data as Record<string, string>)["config.yml"]).toContain("blobTtl");
    });
    expect(
      decodedSecret(await get(cluster.client, "Secret", "regmirror-peered-peers"), "secret"),
    ).toBe(shared);

    // One replica: a cache alone again, without an API token or peer objects.
    await patchMirrorSpec("peered", { replicas: 1 });
    await eventually(async () => {
      for (const [kind, name] of [
        ["Secret", "regmirror-peered-peers"],
        ["ServiceAccount", "regmirror-peered-cache"],
        ["Role", "regmirror-peered-cache"],
        ["RoleBinding", "regmirror-peered-cache"],
      ] as const) {
        await expect(get(cluster.client, kind, name)).rejects.toThrow(/404/);
      }
    });
    const single = await get(cluster.client, "StatefulSet", "regmirror-peered");
    const singlePod = (single.spec as Json).template.spec;
    expect(singlePod.automountServiceAccountToken).toBe(false);
    expect(singlePod.serviceAccountName).toBe("default");
    await eventually(async () => {
      const current = await getMirror(cluster.client, "peered");
      expect(current.status as Json).not.toHaveProperty("peers");
    });
    const singleConfig = await get(cluster.client, "ConfigMap", "regmirror-peered-config");
    const singleData = singleConfig.data as Record<string, string>;
    expect(loadCacheConfigFromYaml(singleData["config.yml"] ?? "").peers).toBeNull();
    expect(singleData).not.toHaveProperty("peer-ca.crt");
  });
});
