// The keys a schema allows at a path, and the closest one to a misspelled key.
import type { z } from "zod";
import type { ConfigPath } from "./config-path.js";

export interface SchemaDefinition {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
}

export function definitionOf(schema: z.ZodType): SchemaDefinition {
  return (schema as unknown as { _zod: { def: SchemaDefinition } })._zod.def;
}

/** Follows wrappers (optional, nullable, default, pipe) to the schema that does the work. */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const definition = definitionOf(current);
    const next = definition.innerType ?? (definition.type === "pipe" ? definition.in : undefined);
    if (next === undefined) return current;
    current = next;
  }
}

/** The keys an object schema at `path` accepts, to suggest the right spelling of a wrong key. */
export function allowedKeysAt(schema: z.ZodType, path: ConfigPath): string[] {
  let current: z.ZodType | undefined = unwrapSchema(schema);
  for (const segment of path) {
    if (current === undefined) return [];
    const definition = definitionOf(current);
    if (typeof segment === "number") current = definition.element;
    else current = definition.shape?.[String(segment)];
    if (current !== undefined) current = unwrapSchema(current);
  }
  const shape = current === undefined ? undefined : definitionOf(current).shape;
  return shape === undefined ? [] : Object.keys(shape);
}

/** The closest allowed key: same letters in another case, or at most two edits away. */
export function closestKey(key: string, allowed: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const sameIgnoringCase = allowed.find((candidate) => candidate.toLowerCase() === lower);
  if (sameIgnoringCase !== undefined) return sameIgnoringCase;
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.ceil(key.length / 3) + 1);
  for (const candidate of allowed) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(left: string, right: string): number {
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let row = 1; row <= left.length; row += 1) {
    const current = [row];
    for (let column = 1; column <= right.length; column += 1) {
      const substitution =
        (previous[column - 1] ?? 0) + (left[row - 1] === right[column - 1] ? 0 : 1);
      current.push(
        Math.min((previous[column] ?? 0) + 1, (current[column - 1] ?? 0) + 1, substitution),
      );
    }
    previous = current;
  }
  return previous[right.length] ?? 0;
}
