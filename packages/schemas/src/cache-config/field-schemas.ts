// zod schemas of single values: durations, sizes, URLs, hosts, secrets, paths.
import { parseDuration } from "@regmirror/core";
import { z } from "zod";
import { byteSizeExpectation, parseByteSize } from "./byte-size.js";
import { durationExpectation, nanosecondsToMilliseconds } from "./duration.js";
import { listenAddressExpectation, parseListenAddress } from "./listen-address.js";
import { SecretValue } from "./secret-value.js";

// Building blocks for the configuration schema. Each one's error message is the expectation
// printed after "expected", so it reads as a description of a good value.

/** Marks a key that is accepted for compatibility but has no effect; reported as a notice. */
export class IgnoredSetting {
  constructor(readonly reason: string) {}
}

export function ignored(reason: string) {
  return z.unknown().transform(() => new IgnoredSetting(reason));
}

/** A key that exists in distribution but that regmirror refuses rather than silently ignores. */
export function unsupported(reason: string) {
  return z.unknown().superRefine((_value, context) => {
    context.addIssue({ code: "custom", message: `this key to be absent: ${reason}` });
  });
}

export const nonEmptyString = z
  .string({ error: "a non-empty string" })
  .trim()
  .min(1, { error: "a non-empty string" });

export const filePath = z.string({ error: "a file path" }).trim().min(1, { error: "a file path" });

export const secretString = z
  .string({ error: "a string (quote it if it looks like a number)" })
  .transform((value) => new SecretValue(value));

/** A Go duration as distribution reads it: a string with units, or a number of nanoseconds. */
export const goDuration = z.unknown().transform((value, context) => {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) {
    return nanosecondsToMilliseconds(value);
  }
  const milliseconds = typeof value === "string" ? parseDuration(value) : undefined;
  if (milliseconds === undefined) {
    context.addIssue({ code: "custom", message: durationExpectation });
    return z.NEVER;
  }
  return milliseconds;
});

/** A duration in a regmirror key: always with a unit (a bare number is ambiguous), or 0. */
export const duration = z.unknown().transform((value, context) => {
  if (value === 0) return 0;
  const milliseconds = typeof value === "string" ? parseDuration(value) : undefined;
  if (milliseconds === undefined) {
    const hint = typeof value === "number" ? " (a bare number is ambiguous: add a unit)" : "";
    context.addIssue({ code: "custom", message: `${durationExpectation}${hint}` });
    return z.NEVER;
  }
  return milliseconds;
});

export const byteSize = z.unknown().transform((value, context) => {
  const bytes =
    typeof value === "string" || typeof value === "number" ? parseByteSize(value) : undefined;
  if (bytes === undefined) {
    context.addIssue({ code: "custom", message: byteSizeExpectation });
    return z.NEVER;
  }
  return bytes;
});

export const listenAddress = z.unknown().transform((value, context) => {
  const address = typeof value === "string" ? parseListenAddress(value) : undefined;
  if (address === undefined) {
    context.addIssue({ code: "custom", message: listenAddressExpectation });
    return z.NEVER;
  }
  return address;
});

const registryUrlExpectation =
  "a registry URL like https://registry.example.com or http://10.0.0.2:5000 (scheme, host, optional port; no path, no user:password@)";

/** The base URL of a registry; normalised to its origin (`https://host:port`). */
export const registryUrl = z.unknown().transform((value, context) => {
  const url = typeof value === "string" ? tryParseUrl(value.trim()) : undefined;
  const acceptable =
    url !== undefined &&
    (url.protocol === "https:" || url.protocol === "http:") &&
    url.hostname !== "" &&
    url.username === "" &&
    url.password === "" &&
    (url.pathname === "/" || url.pathname === "") &&
    url.search === "" &&
    url.hash === "";
  if (!acceptable) {
    context.addIssue({ code: "custom", message: registryUrlExpectation });
    return z.NEVER;
  }
  return url.origin;
});

/** An address clients use to reach this cache (http.host); path allowed, no credentials. */
export const publicUrl = z.unknown().transform((value, context) => {
  const url = typeof value === "string" ? tryParseUrl(value.trim()) : undefined;
  if (
    url === undefined ||
    (url.protocol !== "https:" && url.protocol !== "http:") ||
    url.username !== "" ||
    url.password !== ""
  ) {
    context.addIssue({ code: "custom", message: "a URL like https://cache.example.com" });
    return z.NEVER;
  }
  return url.href.replace(/\/$/, "");
});

/** A registry host name as clients write it in image references: docker.io, ghcr.io, host:5000. */
export const registryHost = z
  .string({ error: "a registry host name like docker.io or registry.example.com:5000" })
  .trim()
  .toLowerCase()
  .regex(
    /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?$/,
    {
      error: "a registry host name like docker.io or registry.example.com:5000",
    },
  );

function tryParseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
