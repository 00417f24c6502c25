import type { z } from "zod";
import { type ConfigPath, valueAtPath } from "./config-path.js";

// When the schema refuses a document, the checks that span several keys (an unknown
// defaultUpstream, a setting given twice) would otherwise wait until the refused keys are fixed:
// one problem per run. Instead the refused keys are left out of a copy and the copy is parsed
// again, so those checks run on what is left and every problem is reported in one pass.

const maximumRounds = 6;

export interface PrunedDocument {
  /** The schema's output for the copy without the refused keys. */
  readonly file: unknown;
  /** The keys left out (a list is left out whole rather than one entry, so no index shifts). */
  readonly paths: readonly ConfigPath[];
}

export function pruneInvalidKeys(
  document: unknown,
  issues: readonly z.core.$ZodIssue[],
  parse: (candidate: unknown) => z.ZodSafeParseResult<unknown>,
): PrunedDocument | undefined {
  if (typeof document !== "object" || document === null) return undefined;
  const copy = structuredClone(document) as Record<PropertyKey, unknown>;
  const paths: ConfigPath[] = [];
  let current = issues;
  for (let round = 0; round < maximumRounds; round += 1) {
    for (const issue of current) {
      for (const path of pathsToRemove(copy, issue)) {
        if (path.length === 0) return undefined;
        remove(copy, path);
        paths.push(path);
      }
    }
    const parsed = parse(copy);
    if (parsed.success) return { file: parsed.data, paths };
    current = parsed.error.issues;
  }
  return undefined;
}

function pathsToRemove(document: unknown, issue: z.core.$ZodIssue): ConfigPath[] {
  if (issue.code === "unrecognized_keys") return issue.keys.map((key) => [...issue.path, key]);
  // A required key that is missing takes its section with it.
  let path: ConfigPath = issue.path;
  if (valueAtPath(document, path) === undefined) path = path.slice(0, -1);
  // Never remove one entry of a list, which would change the paths of the entries after it:
  // the list goes instead.
  while (typeof path.at(-1) === "number") path = path.slice(0, -1);
  return [path];
}

function remove(document: Record<PropertyKey, unknown>, path: ConfigPath): void {
  const parent = valueAtPath(document, path.slice(0, -1));
  const key = path.at(-1);
  if (typeof parent === "object" && parent !== null && key !== undefined) {
    delete (parent as Record<PropertyKey, unknown>)[key];
  }
}
