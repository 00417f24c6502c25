/**
 * The comment at the top of every whole file the applier writes (TOML and PEM both allow it:
 * PEM readers skip text before "-----BEGIN"). It tells a person the file is managed; ownership
 * itself is decided by the applier's ownership record, never by this text alone.
 */
export const managedFileHeader = [
  "# Written by regmirror node-trust (the regmirror node agent). Do not edit: an edited file is",
  "# reported and left alone. Removing the mirror removes this file and restores what was here.",
  "",
].join("\n");

/** Quotes a TOML basic string or key. JSON string escapes are a subset of TOML's. */
export function tomlString(value: string): string {
  return JSON.stringify(value);
}
