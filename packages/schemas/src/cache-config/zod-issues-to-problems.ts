// zod issues turned into problems that name the key, the value and what was expected.
import type { z } from "zod";
import { type ConfigPath, formatConfigPath, valueAtPath } from "./config-path.js";
import type { ConfigProblem } from "./config-problem.js";
import { describeValue, looksLikeSecretKey } from "./redaction.js";
import { allowedKeysAt, closestKey } from "./schema-keys.js";
import { redactedText } from "./secret-value.js";

const typeNames: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping (key: value)",
  array: "a list",
  null: "null",
};

/**
 * Zod's default messages rewritten as expectations ("a list", "one of: a, b"), for issues
 * whose schema has no message of its own. Pass as the `error` option of safeParse.
 */
export function expectationErrorMap(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type": {
      const expected = typeNames[issue.expected] ?? issue.expected;
      return issue.input === undefined ? `${expected} (this key is required)` : expected;
    }
    case "invalid_value":
      return `one of: ${issue.values.map((value) => String(value)).join(", ")}`;
    case "too_small":
      return issue.origin === "array"
        ? `at least ${issue.minimum} entries`
        : `at least ${issue.minimum}`;
    case "too_big":
      return issue.origin === "array"
        ? `at most ${issue.maximum} entries`
        : `at most ${issue.maximum}`;
    case "invalid_format":
      return `a value in the ${issue.format} format`;
    default:
      return undefined;
  }
}

/** Turns zod issues into problems that name the key path, the value found and the expectation. */
export function zodIssuesToProblems(
  issues: readonly z.core.$ZodIssue[],
  document: unknown,
  schema: z.ZodType,
): ConfigProblem[] {
  // Unknown keys first: a misspelled key is usually why a required one is reported missing.
  const unknownKeys: ConfigProblem[] = [];
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeysAt(schema, issue.path);
      for (const key of issue.keys)
        unknownKeys.push(unknownKeyProblem(document, issue.path, key, allowed));
      continue;
    }
    problems.push({
      path: formatConfigPath(issue.path),
      value: describeValue(valueAtPath(document, issue.path), issue.path),
      expected: issue.message,
    });
  }
  return [...unknownKeys, ...problems];
}

function unknownKeyProblem(
  document: unknown,
  parentPath: ConfigPath,
  key: string,
  allowed: readonly string[],
): ConfigProblem {
  const path = [...parentPath, key];
  const value = valueAtPath(document, path);
  const suggestion = closestKey(key, allowed);
  const hint = suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`;
  const choices = allowed.length === 0 ? "" : `; this section accepts: ${allowed.join(", ")}`;
  return {
    path: formatConfigPath(path),
    value: looksLikeSecretKey(key) ? redactedText : describeValue(value, path),
    expected: `no key "${key}" here${hint}${choices}`,
  };
}
