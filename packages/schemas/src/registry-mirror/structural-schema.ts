// Turns a JSON Schema made by zod's toJSONSchema into a Kubernetes *structural* schema
// (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema):
// every node has a type, no $ref, no `additionalProperties: false` (pruning does that job),
// `nullable` instead of a null type, and int-or-string instead of a free anyOf.
import { brandedError } from "@regmirror/core";

export type JsonSchema = Record<string, unknown>;

const droppedKeys = new Set(["$schema", "propertyNames", "id", "$id"]);

function isRecord(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isIntOrStringUnion(branches: unknown[]): boolean {
  const types = branches.map((branch) => (isRecord(branch) ? branch.type : undefined)).sort();
  return (
    branches.length === 2 &&
    (types[0] === "integer" || types[0] === "number") &&
    types[1] === "string"
  );
}

/** A branch with value checks only (format, pattern...), no type or structure of its own. */
function isValueValidation(branch: unknown): boolean {
  return (
    isRecord(branch) &&
    Object.keys(branch).length > 0 &&
    Object.keys(branch).every((key) =>
      ["format", "pattern", "maxLength", "minLength"].includes(key),
    )
  );
}

export class StructuralSchemaError extends brandedError<"REGMIRROR_STRUCTURAL_SCHEMA">(
  "@regmirror/schemas.StructuralSchemaError",
) {
  constructor(path: string, problem: string) {
    super(
      "REGMIRROR_STRUCTURAL_SCHEMA",
      `cannot express ${path || "<root>"} in a Kubernetes structural schema: ${problem}`,
    );
  }
}

export function toStructuralSchema(schema: JsonSchema, path = ""): JsonSchema {
  const result: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (droppedKeys.has(key)) continue;
    if (key === "properties" && isRecord(value)) {
      result.properties = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [
          name,
          toStructuralSchema(child as JsonSchema, `${path}.${name}`),
        ]),
      );
    } else if (key === "items" && isRecord(value)) {
      result.items = toStructuralSchema(value, `${path}[]`);
    } else if (key === "additionalProperties") {
      // false: pruning drops unknown fields anyway; {}: anything goes below this object.
      if (value === false) continue;
      if (isRecord(value) && Object.keys(value).length === 0) {
        result["x-kubernetes-preserve-unknown-fields"] = true;
      } else if (isRecord(value)) {
        result.additionalProperties = toStructuralSchema(value, `${path}.*`);
      }
    } else if (key === "type" && Array.isArray(value)) {
      const types = value.filter((type) => type !== "null");
      if (isIntOrStringUnion(types.map((type) => ({ type })))) {
        result["x-kubernetes-int-or-string"] = true;
        result.anyOf = [{ type: "integer" }, { type: "string" }];
      } else if (types.length === 1) {
        result.type = types[0];
      } else {
        throw new StructuralSchemaError(path, `type ${value.join("|")}`);
      }
      if (value.includes("null")) result.nullable = true;
    } else if (key === "anyOf" && Array.isArray(value) && value.every(isValueValidation)) {
      // Checks alone in each branch (e.g. ipv4 or ipv6 formats) are structural as they are.
      result.anyOf = value;
    } else if (key === "anyOf" && Array.isArray(value)) {
      if (!isIntOrStringUnion(value)) {
        throw new StructuralSchemaError(path, "a union other than number-or-string");
      }
      result["x-kubernetes-int-or-string"] = true;
      // The one form Kubernetes accepts: bare types in the branches, checks on the node itself
      // (a pattern there applies to the string form only).
      result.anyOf = [{ type: "integer" }, { type: "string" }];
      const stringBranch = value.find((branch) => isRecord(branch) && branch.type === "string");
      if (isRecord(stringBranch) && typeof stringBranch.pattern === "string") {
        result.pattern = stringBranch.pattern;
      }
    } else {
      result[key] = value;
    }
  }
  // A date-time pattern written for JavaScript is redundant with the format and is not RE2.
  if (result.format === "date-time") delete result.pattern;
  if (result.maximum === Number.MAX_SAFE_INTEGER) delete result.maximum;
  if (result.type === undefined && !result["x-kubernetes-int-or-string"]) {
    if (result["x-kubernetes-preserve-unknown-fields"] !== true) {
      throw new StructuralSchemaError(path, "no type (give the zod schema a JSON Schema override)");
    }
  }
  return result;
}
