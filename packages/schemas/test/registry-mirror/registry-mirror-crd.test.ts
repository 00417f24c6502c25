import { describe, expect, it } from "vitest";
import {
  parseRegistryMirrorSpec,
  RegistryMirrorInvalidError,
  registryMirrorCustomResourceDefinition,
  StructuralSchemaError,
  toStructuralSchema,
} from "../../src/index.js";
import { crdPatterns } from "../../src/registry-mirror/registry-mirror-crd.js";

type Node = Record<string, unknown>;

const crd = registryMirrorCustomResourceDefinition() as {
  spec: { versions: { schema: { openAPIV3Schema: Node } }[] };
};
const root = crd.spec.versions[0]?.schema.openAPIV3Schema as Node;
const specSchema = (root.properties as Record<string, Node>).spec as Node;

function walk(node: Node, path: string, visit: (node: Node, path: string) => void): void {
  visit(node, path);
  for (const [name, child] of Object.entries((node.properties as Record<string, Node>) ?? {})) {
    walk(child, `${path}.${name}`, visit);
  }
  if (node.items) walk(node.items as Node, `${path}[]`, visit);
  if (typeof node.additionalProperties === "object") {
    walk(node.additionalProperties as Node, `${path}.*`, visit);
  }
}

function fieldSchema(path: string[]): Node {
  return path.reduce(
    (node, name) => (node.properties as Record<string, Node>)[name] as Node,
    specSchema,
  );
}

function acceptedByZod(spec: Record<string, unknown>): boolean {
  try {
    parseRegistryMirrorSpec({ upstreamUrl: "quay.io", ...spec });
    return true;
  } catch (error) {
    if (RegistryMirrorInvalidError.isInstance(error)) return false;
    throw error;
  }
}

describe("the generated RegistryMirror CRD schema", () => {
  it("is structural: every node typed, no $ref, no additionalProperties: false", () => {
    walk(root, "", (node, path) => {
      const typed =
        typeof node.type === "string" ||
        node["x-kubernetes-int-or-string"] === true ||
        node["x-kubernetes-preserve-unknown-fields"] === true;
      expect(typed, `${path} has a type`).toBe(true);
      for (const key of ["$ref", "$schema", "propertyNames", "oneOf"]) {
        expect(node[key], `${path}.${key}`).toBeUndefined();
      }
      expect(node.additionalProperties, path).not.toBe(false);
      // int-or-string, or checks alone (an IP address: ipv4 or ipv6) under a typed node.
      if (Array.isArray(node.anyOf) && node["x-kubernetes-int-or-string"] === true) {
        expect(node.anyOf, path).toEqual([{ type: "integer" }, { type: "string" }]);
      } else if (Array.isArray(node.anyOf)) {
        expect(node.type, path).toBe("string");
        for (const branch of node.anyOf as Node[]) expect(branch.type, path).toBeUndefined();
      }
    });
  });

  it.each([
    ["duration", "blobTtl", ["24h", "1h30m", "500ms", "7d", "0"], ["one day", "24", "h", ""]],
    ["byteSize", "maxSize", ["50GiB", "10GB", "512MiB", "1024"], ["lots", "50G", "GiB"]],
    [
      "upstreamUrl",
      "upstreamUrl",
      ["quay.io", "hub.docker.io", "https://registry.example.com:5000", "http://10.0.0.2:5000"],
      ["https://user@quay.io", "quay.io/path", "ftp://quay.io"],
    ],
  ] as const)(
    "checks %s with a CEL rule whose pattern agrees with the zod schema",
    (kind, field, good, bad) => {
      const rules = fieldSchema([field])["x-kubernetes-validations"] as { rule: string }[];
      expect(rules[0]?.rule).toContain(crdPatterns[kind]);
      const pattern = new RegExp(crdPatterns[kind], "u");
      for (const value of good) {
        expect(pattern.test(value), `${value} matches`).toBe(true);
        expect(acceptedByZod({ [field]: value }), `zod accepts ${value}`).toBe(true);
      }
      for (const value of bad) {
        expect(pattern.test(value), `${value} does not match`).toBe(false);
        expect(acceptedByZod({ [field]: value }), `zod rejects ${value}`).toBe(false);
      }
    },
  );

  it("describes every field, for kubectl explain", () => {
    walk(root, "", (node, path) => {
      for (const [name, child] of Object.entries((node.properties as Record<string, Node>) ?? {})) {
        // metadata is the API server's ObjectMeta, which it documents itself.
        if (path === "" && name === "metadata") continue;
        expect(child.description, `${path}.${name} has a description`).toEqual(expect.any(String));
      }
    });
  });

  it("uses only formats Kubernetes knows (no warning on install)", () => {
    walk(root, "", (node, path) => {
      if (node.format !== undefined) {
        expect(["uri", "date-time", "ipv4", "ipv6"], path).toContain(node.format);
      }
    });
  });

  it("defaults replicas as the parser does", () => {
    expect(fieldSchema(["replicas"]).default).toBe(
      parseRegistryMirrorSpec({ upstreamUrl: "quay.io" }).replicas,
    );
  });

  it("refuses a union Kubernetes cannot express", () => {
    expect(() =>
      toStructuralSchema({ anyOf: [{ type: "boolean" }, { type: "string" }] }, "spec.field"),
    ).toThrow(StructuralSchemaError);
    expect(() => toStructuralSchema({ properties: { x: {} }, type: "object" })).toThrow(/\.x/);
  });
});
