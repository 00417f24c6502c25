// The desired node state (mirrors, runtimes, hosts entries) and its zod schema.
import { parseDuration } from "@regmirror/core";
import { z } from "zod";
import { InvalidNodeStateError, type NodeStateIssue } from "./errors.js";
import {
  hasDotSegment,
  headerNameProblem,
  headerValueProblem,
  hostPortProblem,
  isValidDnsLabel,
  isValidHostname,
  isValidIpAddress,
  parseCertificatePem,
  parsePrivateKeyPem,
  urlForMessage,
} from "./validation.js";

export const nodeRuntimes = ["containerd", "docker", "crio", "hosts-file"] as const;
export type NodeRuntime = (typeof nodeRuntimes)[number];

/** Longest dial timeout accepted: the point of it is to fall back quickly from a dead mirror. */
const maximumDialTimeoutMs = 60_000;

const hostPort = z.string().superRefine((value, context) => {
  const problem = hostPortProblem(value);
  if (problem) context.addIssue({ code: "custom", message: problem });
});

/** An http(s) URL with a valid host, no credentials, query, fragment or dot segments. */
function httpUrl(what: string) {
  return z.string().superRefine((value, context) => {
    const fail = (message: string) => context.addIssue({ code: "custom", message });
    const shown = JSON.stringify(urlForMessage(value));
    const match = /^(https?):\/\/([^/?#]*)([^?#]*)(.*)$/.exec(value);
    if (!match) return fail(`${what} ${shown} must be an http:// or https:// URL`);
    const [, , authority = "", path = "", rest = ""] = match;
    if (authority.includes("@")) return fail(`${what} must not carry credentials`);
    if (rest !== "") return fail(`${what} ${shown} must not have a query or fragment`);
    if (hasDotSegment(path)) return fail(`${what} ${shown} has a "." or ".." path segment`);
    const problem = hostPortProblem(authority);
    if (problem) return fail(`${what} host: ${problem}`);
  });
}

const endpointUrl = httpUrl("endpoint").superRefine((value, context) => {
  if (!URL.canParse(value)) return; // the URL check above has reported it
  const path = new URL(value).pathname.replace(/\/+$/, "");
  // A path is the registry API root (containerd override_path); CRI-O needs it under /v2.
  if (path !== "" && path !== "/v2" && !path.startsWith("/v2/")) {
    context.addIssue({
      code: "custom",
      message: `endpoint path "${path}" must be empty or start with /v2 (the registry API root)`,
    });
  }
});

const headerValue = z.string().superRefine((value, context) => {
  const problem = headerValueProblem(value);
  if (problem) context.addIssue({ code: "custom", message: problem });
});

const headers = z
  .record(z.string(), z.union([headerValue, z.array(headerValue).min(1)]))
  .superRefine((record, context) => {
    for (const name of Object.keys(record)) {
      const problem = headerNameProblem(name);
      if (problem) context.addIssue({ code: "custom", message: problem, path: [name] });
    }
  });

const dialTimeout = z.string().superRefine((value, context) => {
  const milliseconds = parseDuration(value);
  if (milliseconds === undefined || milliseconds < 100 || milliseconds > maximumDialTimeoutMs) {
    context.addIssue({
      code: "custom",
      message: `"${value}" is not a dial timeout between 100ms and 60s (e.g. "500ms", "3s")`,
    });
  }
});

function pemField(parse: (pem: string) => unknown) {
  return z.string().superRefine((value, context) => {
    try {
      parse(value);
    } catch (error) {
      context.addIssue({ code: "custom", message: (error as Error).message });
    }
  });
}

export const RegistryUpstreamSchema = z
  .object({
    /** The registry host as it appears in image references: "docker.io", "ghcr.io", "host:5000". */
    host: hostPort,
    /** Where the registry really is; default https://<host> (docker.io: registry-1.docker.io). */
    server: httpUrl("server").optional(),
  })
  .strict();

export const MirrorSchema = z
  .object({
    /** A DNS label naming the mirror; it also names the mirror's files on the node. */
    name: z.string().refine(isValidDnsLabel, "must be a DNS label (a-z, 0-9, -; 63 at most)"),
    /**
     * The mirror's URL. A path, when given, is the registry API root: "https://cache:5000/v2/docker.io"
     * means repositories are under /v2/docker.io/<repository>.
     */
    endpoint: endpointUrl,
    registries: z.array(RegistryUpstreamSchema).min(1),
    caPem: pemField(parseCertificatePem).optional(),
    clientCertificatePem: pemField(parseCertificatePem).optional(),
    clientKeyPem: pemField(parsePrivateKeyPem).optional(),
    skipVerify: z.boolean().default(false),
    dialTimeout: dialTimeout.default("3s"),
    headers: headers.default({}),
  })
  .strict()
  .superRefine((mirror, context) => {
    const https = mirror.endpoint.startsWith("https:");
    const hasCertificate = mirror.clientCertificatePem !== undefined;
    if (hasCertificate !== (mirror.clientKeyPem !== undefined)) {
      context.addIssue({
        code: "custom",
        path: [hasCertificate ? "clientKeyPem" : "clientCertificatePem"],
        message: "clientCertificatePem and clientKeyPem go together",
      });
    }
    if (!https && (mirror.caPem || hasCertificate || mirror.skipVerify)) {
      context.addIssue({
        code: "custom",
        path: ["endpoint"],
        message: "caPem, client certificates and skipVerify need an https:// endpoint",
      });
    }
    if (mirror.clientCertificatePem && mirror.clientKeyPem) {
      try {
        const [certificate] = parseCertificatePem(mirror.clientCertificatePem).certificates;
        const { key } = parsePrivateKeyPem(mirror.clientKeyPem);
        if (certificate && !certificate.checkPrivateKey(key)) {
          context.addIssue({
            code: "custom",
            path: ["clientKeyPem"],
            message: "does not match clientCertificatePem",
          });
        }
      } catch {
        // Each field's own check already reported what is wrong with it.
      }
    }
    const seen = new Set<string>();
    mirror.registries.forEach((registry, index) => {
      if (seen.has(registry.host)) {
        context.addIssue({
          code: "custom",
          path: ["registries", index, "host"],
          message: `"${registry.host}" is listed twice`,
        });
      }
      seen.add(registry.host);
    });
  });

export const HostsFileEntrySchema = z
  .object({
    host: z.string().refine(isValidHostname, "must be a valid host name"),
    ip: z.string().refine(isValidIpAddress, "must be an IPv4 or IPv6 address"),
  })
  .strict();

export const NodeTrustStateSchema = z
  .object({
    mirrors: z.array(MirrorSchema).default([]),
    /** Which runtimes' files to write; hosts-file writes `hostsFileEntries` into /etc/hosts. */
    runtimes: z.array(z.enum(nodeRuntimes)).default(["containerd"]),
    hostsFileEntries: z.array(HostsFileEntrySchema).default([]),
  })
  .strict()
  .superRefine((state, context) => {
    const names = new Set<string>();
    const endpointsByRegistry = new Map<string, Set<string>>();
    state.mirrors.forEach((mirror, index) => {
      if (names.has(mirror.name)) {
        context.addIssue({
          code: "custom",
          path: ["mirrors", index, "name"],
          message: `"${mirror.name}" is used by two mirrors`,
        });
      }
      names.add(mirror.name);
      for (const registry of mirror.registries) {
        const endpoints = endpointsByRegistry.get(registry.host) ?? new Set<string>();
        if (endpoints.has(mirror.endpoint)) {
          context.addIssue({
            code: "custom",
            path: ["mirrors", index, "endpoint"],
            message: `two mirrors serve ${registry.host} from the same endpoint`,
          });
        }
        endpoints.add(mirror.endpoint);
        endpointsByRegistry.set(registry.host, endpoints);
      }
    });
    // Docker and CRI-O keep one certs.d directory per host:port, so mirrors sharing a host must
    // agree on what goes in it.
    const tlsByHost = new Map<string, { name: string; tls: string }>();
    state.mirrors.forEach((mirror, index) => {
      if (!URL.canParse(mirror.endpoint) || !mirror.endpoint.startsWith("https:")) return;
      const host = new URL(mirror.endpoint).host;
      const tls = JSON.stringify([mirror.caPem, mirror.clientCertificatePem, mirror.clientKeyPem]);
      const first = tlsByHost.get(host);
      if (first && first.tls !== tls) {
        context.addIssue({
          code: "custom",
          path: ["mirrors", index, "endpoint"],
          message: `shares ${host} with mirror "${first.name}" but has a different CA or client certificate`,
        });
      }
      if (!first) tlsByHost.set(host, { name: mirror.name, tls });
    });
    if (state.hostsFileEntries.length > 0 && !state.runtimes.includes("hosts-file")) {
      context.addIssue({
        code: "custom",
        path: ["hostsFileEntries"],
        message: 'entries are given but "hosts-file" is not in runtimes',
      });
    }
  });

export type NodeTrustStateInput = z.input<typeof NodeTrustStateSchema>;
export type NodeTrustState = z.output<typeof NodeTrustStateSchema>;
export type Mirror = z.output<typeof MirrorSchema>;
export type RegistryUpstream = z.output<typeof RegistryUpstreamSchema>;
export type HostsFileEntry = z.output<typeof HostsFileEntrySchema>;

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) => {
      if (typeof key === "number") return `[${key}]`;
      return index === 0 ? String(key) : `.${String(key)}`;
    })
    .join("");
}

/** Parses and checks a desired node state; throws InvalidNodeStateError naming every problem. */
export function parseNodeTrustState(input: unknown): NodeTrustState {
  const result = NodeTrustStateSchema.safeParse(input);
  if (result.success) return result.data;
  const issues: NodeStateIssue[] = result.error.issues.map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message,
  }));
  throw new InvalidNodeStateError(issues);
}

/** The server containerd falls back to for a registry host. */
export function upstreamServer(registry: RegistryUpstream): string {
  if (registry.server) return registry.server.replace(/\/+$/, "");
  return registry.host === "docker.io"
    ? "https://registry-1.docker.io"
    : `https://${registry.host}`;
}
