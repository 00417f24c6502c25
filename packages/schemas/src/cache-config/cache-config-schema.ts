// The cache configuration file's zod schema: distribution's keys plus `regmirror:`.
import { z } from "zod";
import { distributionConfigShape } from "./distribution-config-schema.js";
import { nativeConfigSchema } from "./native-config-schema.js";

/**
 * The one schema for a regmirror cache configuration file: distribution's keys (which cover the
 * MSR content cache file and the distribution proxy form) plus the `regmirror:` section.
 * Every object is strict: an unknown key anywhere is an error.
 */
export const cacheConfigFileSchema = z.strictObject({
  ...distributionConfigShape,
  regmirror: nativeConfigSchema.optional(),
});

/** The file as validated, before normalisation; see normalizeCacheConfig. */
export type CacheConfigFile = z.output<typeof cacheConfigFileSchema>;
