/**
 * `createRegistryClient`: an OCI distribution client for one registry, on undici.
 * It composes the transport (timeouts, retries, redirects), the authenticator (Basic, Bearer
 * tokens), and the operations on manifests, blobs, uploads, lists and referrers.
 */

import { type ConnectionOptions, getCACertificates } from "node:tls";
import { type Logger, silentLogger } from "@regmirror/core";
import { Agent, type Dispatcher } from "undici";
import type { Descriptor } from "../model/manifest.js";
import { parseManifest, subjectOf } from "../model/manifest.js";
import {
  type BlobDescriptor,
  type BlobDownload,
  createBlobDownloads,
  type GetBlobOptions,
} from "./blob-download.js";
import {
  type BlobContent,
  createBlobUploads,
  type PushBlobOptions,
  type PushBlobResult,
} from "./blob-upload.js";
import { RegistryClientError } from "./client-errors.js";
import {
  type BasicCredentials,
  checkDockerConfig,
  type DockerConfig,
  dockerConfigCredentials,
  readDockerConfig,
} from "./docker-config.js";
import { createHttpTransport, headerValue, type ObservedResponse } from "./http-transport.js";
import { checkManifestReference, checkRepository } from "./input-checks.js";
import { createListing, type ListOptions } from "./listing.js";
import {
  createManifestOperations,
  type FetchedManifest,
  type ManifestDescriptor,
  type ManifestRequestOptions,
  type PutManifestResult,
} from "./manifests.js";
import { createReferrers, type ListReferrersOptions } from "./referrers.js";
import { createRegistryAuthenticator } from "./registry-auth.js";
import { createRegistrySession } from "./registry-session.js";
import { resolveRegistry } from "./registry-url.js";
import { type RetryOptions, resolveRetryOptions } from "./retry.js";

export interface RegistryClientOptions {
  /** `https://registry.example:5000`, or a host as in image references (`docker.io`, `reg:5000`). */
  registry: string;
  /** Username and password, for Basic auth and for the token service. Wins over `dockerConfig`. */
  credentials?: BasicCredentials;
  /** A Docker `config.json`: its path (read on first need) or its parsed content. */
  dockerConfig?: string | DockerConfig;
  /** Send requests through this undici dispatcher (proxy, mock, shared pool); `ca`/`tls` then do not apply. */
  dispatcher?: Dispatcher;
  /** PEM of CAs to trust on top of the process's default CAs (`tls.getCACertificates()`). */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Further TLS options (client certificate, `servername`, `rejectUnauthorized`). */
  tls?: Pick<
    ConnectionOptions,
    "cert" | "key" | "passphrase" | "servername" | "rejectUnauthorized" | "ca"
  >;
  logger?: Logger;
  /**
   * Sees the status and headers of every answer (retried ones included), e.g. to read rate-limit
   * headers such as Docker Hub's `ratelimit-remaining`. Must not throw; must not keep the body.
   */
  onResponse?: (response: ObservedResponse) => void;
  /** Longest silence: connecting, sending a body, awaiting headers, inside a body. Default 30 s. */
  timeoutMs?: number;
  retry?: RetryOptions;
  /** Manifests larger than this are refused (both ways). Default 4 MiB. */
  maximumManifestBytes?: number;
  /** Keep the referrers fallback tag up to date when a registry does not index subjects. Default true. */
  updateReferrersTag?: boolean;
}

export interface PingResult {
  /** The `Docker-Distribution-API-Version` header, e.g. "registry/2.0". */
  apiVersion: string | undefined;
}

export interface RegistryClient {
  /** The registry's base URL (`https://host:port/`). */
  readonly url: URL;
  /** `GET /v2/`, authenticating if the registry asks (checks the credentials). */
  ping(options?: { signal?: AbortSignal }): Promise<PingResult>;
  headManifest(
    repository: string,
    reference: string,
    options?: ManifestRequestOptions,
  ): Promise<ManifestDescriptor>;
  /** The manifest's bytes exactly as the registry sent them; checked against the digest when asked by digest. */
  getManifest(
    repository: string,
    reference: string,
    options?: ManifestRequestOptions,
  ): Promise<FetchedManifest>;
  /** PUT a manifest under a tag or its digest; `mediaType` defaults to the manifest's own field. */
  putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    options?: { mediaType?: string; signal?: AbortSignal },
  ): Promise<PutManifestResult>;
  deleteManifest(
    repository: string,
    digest: string,
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  headBlob(
    repository: string,
    digest: string,
    options?: { signal?: AbortSignal },
  ): Promise<BlobDescriptor>;
  /** A verified, resuming stream of the blob. */
  getBlob(repository: string, digest: string, options?: GetBlobOptions): Promise<BlobDownload>;
  /** Uploads a blob unless the registry has it: mount, monolithic (bytes) or chunked (streams). */
  pushBlob(
    repository: string,
    content: BlobContent,
    options?: PushBlobOptions,
  ): Promise<PushBlobResult>;
  listTags(repository: string, options?: ListOptions): AsyncIterable<string>;
  /** The `_catalog` (many registries only allow it to admins). */
  listRepositories(options?: ListOptions): AsyncIterable<string>;
  listReferrers(
    repository: string,
    digest: string,
    options?: ListReferrersOptions,
  ): Promise<Descriptor[]>;
  /**
   * Ends blob streams still open (they fail with `CLIENT_CLOSED`), lets requests in flight
   * finish, and closes the connections the client opened (not a `dispatcher` it was given).
   */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAXIMUM_MANIFEST_BYTES = 4 * 1024 * 1024;

export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  if (typeof options !== "object" || options === null) {
    throw new RegistryClientError(
      "INVALID_OPTIONS",
      'createRegistryClient needs options like { registry: "https://registry.example.com" }',
    );
  }
  const { baseUrl, credentialsKey } = resolveRegistry(options.registry);
  const logger = options.logger ?? silentLogger;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RegistryClientError(
      "INVALID_OPTIONS",
      `timeoutMs must be a positive number, got ${timeoutMs}`,
    );
  }
  const maximumManifestBytes = options.maximumManifestBytes ?? DEFAULT_MAXIMUM_MANIFEST_BYTES;
  const retry = resolveRetryOptions(options.retry);
  if (options.dispatcher && (options.ca !== undefined || options.tls !== undefined)) {
    throw new RegistryClientError(
      "INVALID_OPTIONS",
      "`ca` and `tls` configure the client's own connections: with a `dispatcher`, set them on the dispatcher",
    );
  }
  const ownAgent = options.dispatcher
    ? undefined
    : new Agent({ connect: connectOptions(options, timeoutMs) });
  const dispatcher = options.dispatcher ?? (ownAgent as Agent);

  const credentials = credentialsResolver(options, credentialsKey);
  const transport = createHttpTransport({
    dispatcher,
    timeoutMs,
    retry,
    logger,
    onResponse: options.onResponse,
  });
  const authenticator = createRegistryAuthenticator({ transport, credentials, logger });
  const session = createRegistrySession({ baseUrl, transport, authenticator });
  const manifests = createManifestOperations(session, maximumManifestBytes);
  const downloads = createBlobDownloads(session, { retry, logger });
  const uploads = createBlobUploads(session, { retry, logger, headBlob: downloads.headBlob });
  const listing = createListing(session);
  const referrers = createReferrers(session, manifests);

  return {
    url: baseUrl,

    async ping(pingOptions = {}) {
      const response = await session.expect(
        { target: "/v2/", method: "GET", scopes: [], signal: pingOptions.signal },
        [200],
        "UNSUPPORTED",
      );
      await response.body.dump();
      return { apiVersion: headerValue(response.headers, "docker-distribution-api-version") };
    },

    async headManifest(repository, reference, requestOptions) {
      checkRepository(repository);
      checkManifestReference(reference);
      return manifests.headManifest(repository, reference, requestOptions);
    },

    async getManifest(repository, reference, requestOptions) {
      checkRepository(repository);
      checkManifestReference(reference);
      return manifests.getManifest(repository, reference, requestOptions);
    },

    async putManifest(repository, reference, bytes, putOptions = {}) {
      checkRepository(repository);
      checkManifestReference(reference);
      const result = await manifests.putManifest(repository, reference, bytes, putOptions);
      if (options.updateReferrersTag !== false && result.subjectDigest === undefined) {
        let parsed: ReturnType<typeof parseManifest> | undefined;
        try {
          parsed = parseManifest(bytes, putOptions.mediaType);
        } catch {
          parsed = undefined; // not a manifest kind we read: nothing to index
        }
        if (parsed && subjectOf(parsed)) {
          await referrers.addToReferrersTag(
            repository,
            parsed,
            { digest: result.digest, mediaType: parsed.mediaType, size: bytes.byteLength },
            putOptions.signal,
          );
        }
      }
      return result;
    },

    async deleteManifest(repository, digest, deleteOptions) {
      checkRepository(repository);
      return manifests.deleteManifest(repository, digest, deleteOptions);
    },

    headBlob: downloads.headBlob,
    getBlob: downloads.getBlob,
    pushBlob: uploads.pushBlob,
    listTags: listing.listTags,
    listRepositories: listing.listRepositories,
    listReferrers: referrers.listReferrers,

    async close() {
      downloads.destroyOpenStreams();
      await ownAgent?.close();
    },
  };
}

function connectOptions(options: RegistryClientOptions, timeoutMs: number) {
  const extraCas =
    options.ca === undefined ? [] : Array.isArray(options.ca) ? options.ca : [options.ca];
  const tlsCas =
    options.tls?.ca === undefined
      ? []
      : Array.isArray(options.tls.ca)
        ? options.tls.ca
        : [options.tls.ca];
  const cas = [...extraCas, ...tlsCas];
  return {
    timeout: timeoutMs,
    ...options.tls,
    // Node replaces its default CAs when `ca` is given; keep them and add the caller's. The
    // default is what this process trusts (bundled roots, NODE_EXTRA_CA_CERTS, the system store
    // under --use-system-ca or tls.setDefaultCACertificates), not only the bundled roots.
    ...(cas.length > 0 ? { ca: [...getCACertificates("default"), ...cas] } : {}),
  };
}

/** Explicit credentials, else the Docker config (read once, on the first 401). */
function credentialsResolver(
  options: RegistryClientOptions,
  credentialsKey: string,
): () => Promise<BasicCredentials | undefined> {
  if (options.credentials) {
    const { username, password } = options.credentials;
    if (typeof username !== "string" || typeof password !== "string" || username === "") {
      throw new RegistryClientError(
        "INVALID_OPTIONS",
        "credentials need a username and a password",
      );
    }
    const fixed = { username, password };
    return async () => fixed;
  }
  const source = options.dockerConfig;
  if (source === undefined) return async () => undefined;
  let loaded: Promise<BasicCredentials | undefined> | undefined;
  return () => {
    loaded ??= (async () => {
      const config =
        typeof source === "string" ? await readDockerConfig(source) : checkDockerConfig(source);
      return dockerConfigCredentials(config, credentialsKey);
    })();
    return loaded;
  };
}
