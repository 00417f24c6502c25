// Key paths like `middleware.registry[0].options.blobttl`, for problems.
export type ConfigPath = readonly PropertyKey[];

/** ["middleware", "registry", 0, "options"] → "middleware.registry[0].options" */
export function formatConfigPath(path: ConfigPath): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(String(segment))) {
      text += text === "" ? String(segment) : `.${String(segment)}`;
    } else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text;
}

/** The value at `path` inside a parsed YAML document, or undefined. */
export function valueAtPath(document: unknown, path: ConfigPath): unknown {
  let current = document;
  for (const segment of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}
