// Warm-ahead's admin credential: made once and kept, and given to the cache through its environment.
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { loadCacheConfigFromYaml, parseRegistryMirrorSpec } from "@regmirror/schemas";
import { expect, test } from "vitest";
import { readAdminCredential, renderAdminSecret } from "./admin-credential.js";
import { createMirrorContext } from "./mirror-context.js";
import { renderCacheConfig } from "./render-cache-config.js";
import { renderCacheWorkload } from "./render-cache-workload.js";

function contextWith(spec: Record<string, unknown>) {
  return createMirrorContext(
    { apiVersion: "regmirror.dev/v1alpha1", kind: "RegistryMirror", metadata: { name: "hub" } },
    parseRegistryMirrorSpec({ upstreamUrl: "registry-1.docker.io", ...spec }),
    { namespace: "regmirror-system", images: { operator: "o", cache: "c" } },
  );
}

function cacheEnvironment(workload: KubeObject): unknown[] {
  const template = (workload.spec as { template: { spec: { containers: { env?: unknown[] }[] } } })
    .template;
  return template.spec.containers[0]?.env ?? [];
}

test("a random password at first, the same one on every later reconcile", () => {
  const context = contextWith({ warmAhead: {} });
  const first = renderAdminSecret(context, undefined);
  expect(first.credential.password.length).toBeGreaterThanOrEqual(24);
  expect(first.secret.metadata?.name).toBe("regmirror-hub-admin");
  const again = renderAdminSecret(context, first.secret);
  expect(again.credential).toEqual(first.credential);
  expect(readAdminCredential(again.secret)).toEqual(first.credential);
  expect(renderAdminSecret(context, undefined).credential.password).not.toBe(
    first.credential.password,
  );
});

test("with warm-ahead the cache reads the password from the Secret through REGISTRY_REGMIRROR_ADMIN_PASSWORD; without it, no admin API", () => {
  const variable = {
    name: "REGISTRY_REGMIRROR_ADMIN_PASSWORD",
    valueFrom: { secretKeyRef: { name: "regmirror-hub-admin", key: "password" } },
  };
  const warmed = renderCacheWorkload(contextWith({ warmAhead: {} }), { rolloutHash: "h" });
  expect(cacheEnvironment(warmed)).toContainEqual(variable);
  const plain = renderCacheWorkload(contextWith({}), { rolloutHash: "h" });
  expect(cacheEnvironment(plain)).not.toContainEqual(variable);
});

test("the cache's own parser takes the variable as its admin credential (ADR 0019)", () => {
  const context = contextWith({ warmAhead: {} });
  const { credential } = renderAdminSecret(context, undefined);
  const config = loadCacheConfigFromYaml(renderCacheConfig(context.spec), "rendered", {
    environment: { REGISTRY_REGMIRROR_ADMIN_PASSWORD: credential.password },
  });
  expect(config.admin?.username).toBe("admin");
  expect(config.admin?.password.reveal()).toBe(credential.password);
});
