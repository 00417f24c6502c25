// The keys of distribution's config.yml: honoured, accepted with a notice, or refused (ADR 0006).
import { z } from "zod";
import {
  filePath,
  goDuration,
  ignored,
  listenAddress,
  nonEmptyString,
  publicUrl,
  registryUrl,
  secretString,
  unsupported,
} from "./field-schemas.js";

// The keys of a CNCF distribution config.yml (and so of an MSR content cache file, which is one
// plus the `downstream` middleware). Keys regmirror honours are typed; keys that make no
// difference to a pull-through cache are accepted and reported as notices; keys whose meaning
// regmirror cannot keep are refused so nobody is surprised later.

const noEffect = "accepted for compatibility with distribution; it has no effect in regmirror";

export const distributionVersionSchema = z.unknown().superRefine((value, context) => {
  if (value !== 0.1 && value !== "0.1") {
    context.addIssue({ code: "custom", message: "0.1 (the only distribution config version)" });
  }
});

const logSchema = z.strictObject({
  level: z
    .enum(["panic", "fatal", "error", "warn", "warning", "info", "debug", "trace"])
    .optional(),
  formatter: z
    .enum(["json", "text", "logstash"], {
      error: "json (the default), text (key=value lines for people) or logstash (logged as json)",
    })
    .optional(),
  fields: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]), {
      error: "a mapping of field names to plain values",
    })
    .optional(),
  accesslog: z.strictObject({ disabled: z.boolean().optional() }).optional(),
  reportcaller: ignored(noEffect).optional(),
  hooks: unsupported("log hooks (mail) are not supported; read the JSON logs instead").optional(),
});

const filesystemStorageSchema = z.strictObject({
  rootdirectory: filePath,
  maxthreads: ignored(noEffect).optional(),
});

const s3StorageSchema = z.strictObject({
  bucket: nonEmptyString,
  region: nonEmptyString,
  regionendpoint: registryUrl.optional(),
  forcepathstyle: z.boolean().optional(),
  rootdirectory: z.string().optional(),
  accesskey: secretString.optional(),
  secretkey: secretString.optional(),
  sessiontoken: secretString.optional(),
  secure: ignored("the scheme of regionendpoint decides").optional(),
  v4auth: ignored("regmirror always signs with AWS Signature Version 4").optional(),
  chunksize: ignored(noEffect).optional(),
  multipartcopychunksize: ignored(noEffect).optional(),
  multipartcopymaxconcurrency: ignored(noEffect).optional(),
  multipartcopythresholdsize: ignored(noEffect).optional(),
  storageclass: ignored(noEffect).optional(),
  usedualstack: ignored(noEffect).optional(),
  accelerate: ignored(noEffect).optional(),
  loglevel: ignored(noEffect).optional(),
  objectacl: ignored(noEffect).optional(),
  encrypt: unsupported("set default encryption on the bucket instead").optional(),
  keyid: unsupported("set default encryption on the bucket instead").optional(),
  skipverify: unsupported("give the endpoint's CA instead of turning verification off").optional(),
});

const otherDrivers = "regmirror stores in a filesystem or in S3 (storage.filesystem, storage.s3)";

const storageSchema = z.strictObject({
  filesystem: filesystemStorageSchema.optional(),
  s3: s3StorageSchema.optional(),
  delete: z
    .strictObject({
      enabled: ignored("regmirror always deletes content that expires or is evicted").optional(),
    })
    .optional(),
  cache: ignored(noEffect).optional(),
  maintenance: ignored("a pull-through cache takes no uploads to purge").optional(),
  // Honoured with S3 storage (normalize-storage.ts); regmirror's default is not to redirect.
  redirect: z.strictObject({ disable: z.boolean().optional() }).optional(),
  tag: ignored(noEffect).optional(),
  inmemory: unsupported(otherDrivers).optional(),
  azure: unsupported(otherDrivers).optional(),
  gcs: unsupported(otherDrivers).optional(),
  swift: unsupported(otherDrivers).optional(),
  oss: unsupported(otherDrivers).optional(),
});

const tlsSchema = z.strictObject({
  certificate: filePath,
  key: filePath,
  minimumtls: z.enum(["tls1.2", "tls1.3"]).optional(),
  ciphersuites: ignored("Node's default cipher suites are used").optional(),
  clientcas: unsupported("client certificate authentication is not supported").optional(),
  letsencrypt: unsupported("give a certificate and key (cert-manager can make them)").optional(),
});

// Headers a configuration may not add: they describe the connection, which the server manages
// (and HTTP/2 forbids them in a response).
const connectionHeaders = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);
const headerNamePattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// What node:http accepts in a header value: tab, visible ASCII and bytes above 0x7f; no CR/LF.
const headerValuePattern = /^[\t\x20-\x7e\x80-\xff]*$/;
const headerValuesExpectation = "a list of header values like [nosniff] (no line breaks)";

/** http.headers: added to every registry API response, as distribution adds them. */
const responseHeadersSchema = z
  .record(z.string(), z.unknown(), { error: "a mapping of header names to lists of values" })
  .transform((headers, context) => {
    const result: Record<string, string[]> = {};
    for (const [name, given] of Object.entries(headers)) {
      if (!headerNamePattern.test(name) || connectionHeaders.has(name.toLowerCase())) {
        context.addIssue({
          code: "custom",
          path: [name],
          message: `a header name other than ${[...connectionHeaders].join(", ")} (letters, digits and !#$%&'*+.^_\`|~-)`,
        });
        continue;
      }
      const values = typeof given === "string" ? [given] : given;
      if (
        !Array.isArray(values) ||
        !values.every((value) => typeof value === "string" && headerValuePattern.test(value))
      ) {
        context.addIssue({ code: "custom", path: [name], message: headerValuesExpectation });
        continue;
      }
      result[name] = values;
    }
    return result;
  });

const httpSchema = z.strictObject({
  addr: listenAddress.optional(),
  net: z.enum(["tcp"], { error: "tcp (unix sockets are not supported)" }).optional(),
  host: publicUrl.optional(),
  secret: secretString.optional(),
  draintimeout: goDuration.optional(),
  tls: tlsSchema.optional(),
  debug: z
    .strictObject({
      addr: listenAddress.optional(),
      prometheus: z
        .strictObject({
          enabled: z.boolean().optional(),
          path: z.string().startsWith("/", { error: "a path starting with /" }).optional(),
        })
        .optional(),
    })
    .optional(),
  prefix: unsupported("regmirror serves /v2/ at the root of its address").optional(),
  relativeurls: ignored(noEffect).optional(),
  headers: responseHeadersSchema.optional(),
  http2: z.strictObject({ disabled: z.boolean().optional() }).optional(),
  h2c: ignored(noEffect).optional(),
});

const authSchema = z.strictObject({
  htpasswd: z.strictObject({ realm: nonEmptyString, path: filePath }).optional(),
  token: unsupported(
    "use regmirror.auth (htpasswd with bearer tokens, or pass-through)",
  ).optional(),
  silly: unsupported("use regmirror.auth").optional(),
});

const proxySchema = z.strictObject({
  remoteurl: registryUrl,
  username: nonEmptyString.optional(),
  password: secretString.optional(),
  ttl: goDuration.optional(),
});

const downstreamMiddlewareSchema = z.strictObject({
  name: z.enum(["downstream"], {
    error:
      "downstream (the MSR content cache middleware; no other registry middleware is supported)",
  }),
  disabled: z
    .literal(false, { error: "false (a disabled downstream would leave no upstream)" })
    .optional(),
  options: z.strictObject({
    blobttl: goDuration.optional(),
    upstreams: z.array(registryUrl, { error: "a list of upstream URLs" }).min(1, {
      error: "at least one upstream URL",
    }),
    cas: z.array(filePath, { error: "a list of CA certificate file paths" }).optional(),
  }),
});

const middlewareSchema = z.strictObject({
  registry: z
    .array(downstreamMiddlewareSchema, { error: "a list with one downstream middleware" })
    .min(1, { error: "one downstream middleware" })
    .max(1, { error: "one downstream middleware (several upstreams go in its upstreams list)" })
    .optional(),
  repository: unsupported("only the registry downstream middleware is supported").optional(),
  storage: unsupported("only the registry downstream middleware is supported").optional(),
});

/** Top-level keys of a distribution / MSR configuration file. */
export const distributionConfigShape = {
  version: distributionVersionSchema.optional(),
  log: logSchema.optional(),
  loglevel: ignored("deprecated in distribution; use log.level").optional(),
  storage: storageSchema.optional(),
  http: httpSchema.optional(),
  auth: authSchema.optional(),
  proxy: proxySchema.optional(),
  middleware: middlewareSchema.optional(),
  health: ignored("regmirror serves /healthz and /readyz").optional(),
  notifications: ignored("regmirror sends no webhook notifications").optional(),
  redis: ignored("regmirror needs no Redis").optional(),
  reporting: ignored(noEffect).optional(),
  validation: ignored(noEffect).optional(),
  compatibility: ignored(noEffect).optional(),
  catalog: ignored(noEffect).optional(),
};
