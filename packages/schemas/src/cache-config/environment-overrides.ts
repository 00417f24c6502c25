import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { type ConfigPath, formatConfigPath } from "./config-path.js";
import type { ConfigNotice, ConfigProblem } from "./config-problem.js";
import { isSecretPath } from "./redaction.js";
import { closestKey, definitionOf, unwrapSchema } from "./schema-keys.js";

// distribution's environment overrides (configuration/parser.go): `REGISTRY_` followed by the key
// path in upper case joined by `_` (REGISTRY_PROXY_REMOTEURL → proxy.remoteurl). The rules kept:
// variables apply in lexical order of their names, so a section (REGISTRY_STORAGE) comes before
// its keys; each part matches a key ignoring case; inside a mapping of free names (log.fields,
// http.headers) the part is the key in lower case; a number is a list index (the length of the
// list adds an entry); missing sections are created; the value is YAML for the key's type (a
// string key takes the text as it is); a variable that names no key is ignored with a notice,
// which matters on Kubernetes, where a Service called `registry` puts REGISTRY_PORT,
// REGISTRY_SERVICE_HOST, ... into every pod of its namespace.

export const environmentPrefix = "REGISTRY_";

/** A variable that changed the document. Its value is never kept here: it may be a secret. */
export interface EnvironmentOverride {
  readonly variable: string;
  /** The key path it set, like `proxy.password`. */
  readonly path: string;
  /** True when the key holds a secret (password, secret, S3 keys): print it as <redacted>. */
  readonly secret: boolean;
}

export interface EnvironmentOverrideResult {
  /** A copy of the document with the overrides applied (the input is not changed). */
  readonly document: unknown;
  readonly applied: readonly EnvironmentOverride[];
  /** Variables that name no key, ignored as distribution ignores them. */
  readonly ignored: readonly ConfigNotice[];
  /** Variables that cannot be applied (a bad list index, a value that is not YAML). */
  readonly problems: readonly ConfigProblem[];
}

type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return typeof value === "object" && value !== null;
}

export function applyEnvironmentOverrides(
  document: unknown,
  environment: Readonly<Record<string, string | undefined>>,
  schema: z.ZodType,
): EnvironmentOverrideResult {
  const root: Record<string, unknown> = isContainer(document)
    ? (structuredClone(document) as Record<string, unknown>)
    : {};
  const applied: EnvironmentOverride[] = [];
  const ignored: ConfigNotice[] = [];
  const problems: ConfigProblem[] = [];
  const variables = Object.keys(environment)
    .filter((name) => name.startsWith(environmentPrefix) && environment[name] !== undefined)
    .sort();

  for (const variable of variables) {
    const outcome = applyOne(root, schema, variable, environment[variable] ?? "");
    if (outcome.kind === "applied") applied.push(outcome.override);
    else if (outcome.kind === "ignored") ignored.push({ path: variable, message: outcome.reason });
    else problems.push(outcome.problem);
  }
  const untouched = applied.length === 0 && problems.length === 0;
  return { document: untouched ? document : root, applied, ignored, problems };
}

type Outcome =
  | { kind: "applied"; override: EnvironmentOverride }
  | { kind: "ignored"; reason: string }
  | { kind: "problem"; problem: ConfigProblem };

function applyOne(
  root: Record<string, unknown>,
  schema: z.ZodType,
  variable: string,
  text: string,
): Outcome {
  const parts = variable.slice(environmentPrefix.length).split("_");
  if (parts.some((part) => part === "")) {
    return { kind: "ignored", reason: "not a configuration key path (an empty part); ignored" };
  }
  let container: Container = root;
  let node: z.ZodType | undefined = unwrapSchema(schema);
  const path: PropertyKey[] = [];
  for (const [index, part] of parts.entries()) {
    const step = stepInto(node, container, part, path, variable);
    if (step.kind !== "key") return step.outcome;
    path.push(step.key);
    node = step.schema;
    if (index === parts.length - 1) {
      const value = valueFor(node, text);
      if (value.kind === "invalid") {
        return {
          kind: "problem",
          problem: {
            path: formatConfigPath(path),
            value: `(from ${variable})`,
            expected: `valid YAML in ${variable}: ${value.reason}`,
          },
        };
      }
      (container as Record<PropertyKey, unknown>)[step.key] = value.value;
      return {
        kind: "applied",
        override: { variable, path: formatConfigPath(path), secret: isSecretPath(path) },
      };
    }
    const existing: unknown = (container as Record<PropertyKey, unknown>)[step.key];
    if (isContainer(existing)) {
      container = existing;
    } else {
      // A missing (or null) section is created, as distribution creates a nil struct or map.
      const created: Container = node && definitionOf(node).type === "array" ? [] : {};
      (container as Record<PropertyKey, unknown>)[step.key] = created;
      container = created;
    }
  }
  return { kind: "ignored", reason: "names no key; ignored" };
}

type Step =
  | { kind: "key"; key: PropertyKey; schema: z.ZodType | undefined }
  | { kind: "stop"; outcome: Outcome };

/** Finds the key `part` stands for under `node`, as distribution's parser matches it. */
function stepInto(
  node: z.ZodType | undefined,
  container: Container,
  part: string,
  path: ConfigPath,
  variable: string,
): Step {
  const definition = node === undefined ? undefined : definitionOf(node);
  const here = path.length === 0 ? "the top level" : formatConfigPath(path);
  const inHere = path.length === 0 ? "at the top level" : `in ${here}`;
  // Sections regmirror accepts without looking inside (ignored keys) take any names.
  if (definition === undefined || definition.type === "unknown") {
    return { kind: "key", key: part.toLowerCase(), schema: undefined };
  }
  if (definition.type === "object" && definition.shape !== undefined) {
    const keys = Object.keys(definition.shape);
    const key = keys.find((candidate) => candidate.toUpperCase() === part);
    if (key === undefined) {
      const suggestion = closestKey(part, keys);
      const hint = suggestion === undefined ? "" : ` (did you mean ${suggestion.toUpperCase()}?)`;
      return {
        kind: "stop",
        outcome: {
          kind: "ignored",
          reason: `names no key "${part.toLowerCase()}" ${inHere}${hint}; ignored, as distribution does`,
        },
      };
    }
    return { kind: "key", key, schema: unwrapSchema(definition.shape[key] as z.ZodType) };
  }
  if (definition.type === "record") {
    return {
      kind: "key",
      key: part.toLowerCase(),
      schema: definition.valueType && unwrapSchema(definition.valueType),
    };
  }
  if (definition.type === "array") {
    const length = Array.isArray(container) ? container.length : 0;
    const index = /^\d+$/.test(part) ? Number(part) : Number.NaN;
    if (!Array.isArray(container) || !(index <= length)) {
      return {
        kind: "stop",
        outcome: {
          kind: "problem",
          problem: {
            path: formatConfigPath(path),
            value: `${part} (from ${variable})`,
            expected: `a list index from 0 to ${length} (${length} adds an entry)`,
          },
        },
      };
    }
    return {
      kind: "key",
      key: index,
      schema: definition.element && unwrapSchema(definition.element),
    };
  }
  return {
    kind: "stop",
    outcome: {
      kind: "ignored",
      reason: `${here} is a single value, not a section; ignored, as distribution does`,
    },
  };
}

type Value = { kind: "value"; value: unknown } | { kind: "invalid"; reason: string };

/** The text as it is for a string key (Go's YAML does the same into a string field), else YAML. */
function valueFor(node: z.ZodType | undefined, text: string): Value {
  const type = node === undefined ? "unknown" : definitionOf(node).type;
  if (type === "string" || type === "enum") return { kind: "value", value: text };
  try {
    return { kind: "value", value: parseYaml(text) };
  } catch (error) {
    // The first line only: later lines quote the value, which may be a secret.
    return { kind: "invalid", reason: String((error as Error).message).split("\n")[0] ?? "" };
  }
}
