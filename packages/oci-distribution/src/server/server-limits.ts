/** Sizes the server refuses beyond; validated once, then frozen. */
export interface RegistryLimits {
  /** Largest manifest accepted on PUT (the spec suggests at least 4 MiB). */
  maxManifestBytes: number;
  /** Largest blob an upload may grow to. */
  maxBlobBytes: number;
  /** Largest request path accepted (longer ones are NAME_INVALID). */
  maxPathLength: number;
  /** Most entries of one tags or catalog page (`n` above it is capped). */
  maxPageSize: number;
  /** Entries of a page when the client gives no `n`. */
  defaultPageSize: number;
}

export const DEFAULT_REGISTRY_LIMITS: Readonly<RegistryLimits> = Object.freeze({
  maxManifestBytes: 4 * 1024 * 1024,
  maxBlobBytes: 16 * 1024 * 1024 * 1024,
  maxPathLength: 2048,
  maxPageSize: 10_000,
  defaultPageSize: 1000,
});

export function resolveRegistryLimits(
  overrides: Partial<RegistryLimits> = {},
): Readonly<RegistryLimits> {
  const limits = { ...DEFAULT_REGISTRY_LIMITS, ...overrides };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TypeError(
        `registry limits: ${key} must be a positive integer, got ${String(value)}`,
      );
    }
  }
  if (limits.defaultPageSize > limits.maxPageSize) {
    throw new TypeError("registry limits: defaultPageSize must not exceed maxPageSize");
  }
  return Object.freeze(limits);
}
