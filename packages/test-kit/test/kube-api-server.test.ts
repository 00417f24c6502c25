import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { Agent, fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../src/eventually.js";
import { type KubeApiServer, startKubeApiServer } from "../src/kube-api-server.js";

interface ApiResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects, read field by field in assertions
  body: any;
}

describe("startKubeApiServer: a real etcd + kube-apiserver on loopback", () => {
  let server: KubeApiServer;
  let agent: Agent;

  beforeAll(async () => {
    server = await startKubeApiServer();
    agent = new Agent({ connect: { ca: server.ca } });
  });

  afterAll(async () => {
    await server?.stop();
    await agent?.close();
  });

  async function api(
    method: string,
    path: string,
    options: { body?: unknown; token?: string } = {},
  ): Promise<ApiResponse> {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${options.token ?? server.token}`,
        ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      dispatcher: agent,
    });
    return { status: response.status, body: await response.json() };
  }

  /** Polls until `check` holds; API servers apply some changes (RBAC, CRDs) asynchronously. */
  it("creates a namespace and a ConfigMap over HTTPS; @kubernetes/client-node reads it with the kubeconfig", async () => {
    const namespace = await api("POST", "/api/v1/namespaces", {
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "kit-test" } },
    });
    expect(namespace.status).toBe(201);
    const configMap = await api("POST", "/api/v1/namespaces/kit-test/configmaps", {
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "settings" },
        data: { ttl: "24h" },
      },
    });
    expect(configMap.status).toBe(201);

    const kubeconfig = new KubeConfig();
    kubeconfig.loadFromFile(server.kubeconfigPath);
    const core = kubeconfig.makeApiClient(CoreV1Api);
    const read = await core.readNamespacedConfigMap({ name: "settings", namespace: "kit-test" });
    expect(read.data).toEqual({ ttl: "24h" });
  });

  it("reports the Kubernetes release it was built from", async () => {
    const version = await api("GET", "/version");
    expect(version.status).toBe(200);
    expect(version.body.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
  });

  it("enforces RBAC: the unprivileged user is forbidden until a Role and RoleBinding grant it", async () => {
    const { username, token } = server.unprivilegedUser;
    const denied = await api("GET", "/api/v1/namespaces/kit-test/configmaps", { token });
    expect(denied.status).toBe(403);

    const role = await api("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/kit-test/roles", {
      body: {
        metadata: { name: "read-configmaps" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
      },
    });
    expect(role.status).toBe(201);
    const binding = await api(
      "POST",
      "/apis/rbac.authorization.k8s.io/v1/namespaces/kit-test/rolebindings",
      {
        body: {
          metadata: { name: "read-configmaps" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "read-configmaps" },
          subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: username }],
        },
      },
    );
    expect(binding.status).toBe(201);

    // The RoleBinding takes effect a moment later: the user may list ConfigMaps.
    await eventually(async () => {
      const allowed = await api("GET", "/api/v1/namespaces/kit-test/configmaps", { token });
      expect(allowed.status).toBe(200);
    });
    const stillDenied = await api("DELETE", "/api/v1/namespaces/kit-test/configmaps/settings", {
      token,
    });
    expect(stillDenied.status).toBe(403);
  });

  it("serves a CRD once it is Established and validates its objects against the schema", async () => {
    const created = await api("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
      body: {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: "widgets.kit.example.com" },
        spec: {
          group: "kit.example.com",
          scope: "Namespaced",
          names: { plural: "widgets", singular: "widget", kind: "Widget" },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: "object",
                  properties: {
                    spec: {
                      type: "object",
                      required: ["size"],
                      properties: { size: { type: "integer", minimum: 1 } },
                    },
                  },
                },
              },
            },
          ],
        },
      },
    });
    expect(created.status).toBe(201);

    await eventually(async () => {
      const crd = await api(
        "GET",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.kit.example.com",
      );
      const established = (crd.body.status?.conditions ?? []).some(
        (condition: { type: string; status: string }) =>
          condition.type === "Established" && condition.status === "True",
      );
      expect(established, "the CRD is Established").toBe(true);
    });

    const widgets = "/apis/kit.example.com/v1/namespaces/kit-test/widgets";
    const valid = await api("POST", widgets, {
      body: {
        apiVersion: "kit.example.com/v1",
        kind: "Widget",
        metadata: { name: "small" },
        spec: { size: 2 },
      },
    });
    expect(valid.status).toBe(201);
    const invalid = await api("POST", widgets, {
      body: {
        apiVersion: "kit.example.com/v1",
        kind: "Widget",
        metadata: { name: "empty" },
        spec: { size: 0 },
      },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.message).toContain("spec.size");
  });

  it("restart(): kube-apiserver comes back on the same URL with the data etcd kept", async () => {
    await server.restart();
    const read = await api("GET", "/api/v1/namespaces/kit-test/configmaps/settings");
    expect(read.status).toBe(200);
    expect(read.body.data).toEqual({ ttl: "24h" });
    const widget = await api("GET", "/apis/kit.example.com/v1/namespaces/kit-test/widgets/small");
    expect(widget.body.spec).toEqual({ size: 2 });
  });

  it("stop() ends etcd and kube-apiserver", async () => {
    await server.stop();
    await expect(fetch(`${server.url}/readyz`, { dispatcher: agent })).rejects.toThrow();
  });
});
