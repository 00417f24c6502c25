// Tests of owner references and the keys of an object's owners.
import { describe, expect, it } from "vitest";
import { ReconcilerError } from "./errors.js";
import { controllerOf, ownerKeysOf, withControllerReference } from "./owner-references.js";

const widget = {
  apiVersion: "example.com/v1",
  kind: "Widget",
  metadata: { name: "w1", uid: "uid-w1" },
};

describe("withControllerReference", () => {
  it("adds a controller reference that blocks owner deletion", () => {
    const owned = withControllerReference(
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "n" } },
      widget,
    );
    expect(controllerOf(owned)).toEqual({
      apiVersion: "example.com/v1",
      kind: "Widget",
      name: "w1",
      uid: "uid-w1",
      controller: true,
      blockOwnerDeletion: true,
    });
  });

  it("keeps other owners and does not duplicate its own reference", () => {
    const other = { apiVersion: "v1", kind: "Node", name: "n1", uid: "u" };
    const once = withControllerReference(
      { metadata: { name: "c", ownerReferences: [other] } },
      widget,
    );
    const twice = withControllerReference(once, { ...widget, apiVersion: "example.com/v2" });
    expect(twice.metadata?.ownerReferences?.map((reference) => reference.kind)).toEqual([
      "Node",
      "Widget",
    ]);
  });

  it("refuses to take an object another controller owns", () => {
    const foreign = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "d",
      uid: "u",
      controller: true,
    };
    const attempt = () =>
      withControllerReference({ metadata: { name: "c", ownerReferences: [foreign] } }, widget);
    expect(attempt).toThrowError(/already controlled by Deployment d/);
    try {
      attempt();
    } catch (error) {
      expect(ReconcilerError.isInstance(error) && error.code).toBe("ALREADY_OWNED");
    }
  });

  it("needs the owner's uid, which only the API server assigns", () => {
    expect(() =>
      withControllerReference({ metadata: { name: "c" } }, { ...widget, metadata: { name: "w1" } }),
    ).toThrowError(/has no metadata.uid/);
  });
});

describe("ownerKeysOf", () => {
  const owned = withControllerReference(
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "team" } },
    widget,
  );

  it("maps an owned object to its cluster-scoped owner's key", () => {
    expect(
      ownerKeysOf({ apiVersion: "example.com/v1", kind: "Widget", namespaced: false })(owned),
    ).toEqual(["w1"]);
  });

  it("puts a namespaced owner in the owned object's namespace", () => {
    expect(
      ownerKeysOf({ apiVersion: "example.com/v9", kind: "Widget", namespaced: true })(owned),
    ).toEqual(["team/w1"]);
  });

  it("ignores objects controlled by another kind or group, and those with no controller", () => {
    expect(
      ownerKeysOf({ apiVersion: "other.com/v1", kind: "Widget", namespaced: false })(owned),
    ).toEqual([]);
    expect(ownerKeysOf({ apiVersion: "v1", kind: "Widget", namespaced: false })(owned)).toEqual([]);
    expect(
      ownerKeysOf({ apiVersion: "example.com/v1", kind: "Widget", namespaced: false })({
        metadata: { name: "x" },
      }),
    ).toEqual([]);
  });
});
