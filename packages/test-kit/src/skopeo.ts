// skopeo as a test client: copy and inspect.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256Digest } from "./deterministic-bytes.js";
import { runCommand } from "./processes.js";
import { makeTempDirectory } from "./temp-directory.js";
import type { TestImage } from "./test-image.js";
import type { UpstreamRegistry } from "./upstream-registry.js";

export interface RegistryAccess {
  /** Skip TLS verification (plain http or untrusted https). */
  tlsVerify?: boolean;
  /** A directory holding `ca.crt` (skopeo's --cert-dir). */
  certificateDirectory?: string;
  username?: string;
  password?: string;
}

export interface SkopeoCopyOptions {
  source?: RegistryAccess;
  destination?: RegistryAccess;
  /** Copy every platform of an index (`--all`). Default true. */
  all?: boolean;
}

function accessFlags(side: "src" | "dest", access: RegistryAccess | undefined): string[] {
  if (access === undefined) return [];
  const flags: string[] = [];
  if (access.tlsVerify !== undefined) flags.push(`--${side}-tls-verify=${access.tlsVerify}`);
  if (access.certificateDirectory !== undefined)
    flags.push(`--${side}-cert-dir`, access.certificateDirectory);
  if (access.username !== undefined) {
    flags.push(`--${side}-creds`, `${access.username}:${access.password ?? ""}`);
  } else if (side === "src") {
    flags.push("--src-no-creds");
  }
  return flags;
}

/** skopeo's global flags: a policy that accepts everything, so no /etc/containers/policy.json is needed. */
function globalFlags(): string[] {
  const directory = makeTempDirectory("regmirror-skopeo-");
  const policy = join(directory, "policy.json");
  writeFileSync(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
  return ["--policy", policy];
}

let cachedGlobalFlags: string[] | undefined;

/** `skopeo copy SOURCE DESTINATION` with transports such as `oci:DIR:TAG` and `docker://HOST/REPO:TAG`. */
export async function skopeoCopy(
  source: string,
  destination: string,
  options: SkopeoCopyOptions = {},
): Promise<void> {
  cachedGlobalFlags ??= globalFlags();
  await runCommand("skopeo", [
    ...cachedGlobalFlags,
    "copy",
    "--retry-times=0",
    // Fail rather than silently convert: tests compare digests.
    "--preserve-digests",
    ...(options.all === false ? [] : ["--all"]),
    ...accessFlags("src", options.source),
    ...accessFlags("dest", options.destination),
    source,
    destination,
  ]);
}

/** `skopeo inspect --raw`: the manifest bytes, as the registry serves them, of e.g. `docker://HOST/REPO:TAG`. */
export async function skopeoInspectRaw(
  reference: string,
  access: RegistryAccess = {},
): Promise<Buffer> {
  cachedGlobalFlags ??= globalFlags();
  const flags: string[] = [];
  if (access.tlsVerify !== undefined) flags.push(`--tls-verify=${access.tlsVerify}`);
  if (access.certificateDirectory !== undefined)
    flags.push("--cert-dir", access.certificateDirectory);
  if (access.username !== undefined)
    flags.push("--creds", `${access.username}:${access.password ?? ""}`);
  else flags.push("--no-creds");
  const { stdout } = await runCommand("skopeo", [
    ...cachedGlobalFlags,
    "inspect",
    "--raw",
    ...flags,
    reference,
  ]);
  return Buffer.from(stdout, "utf8");
}

export interface InspectedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

/** The top-level manifest a registry serves for `docker://REFERENCE`, with its digest. */
export async function skopeoInspect(
  reference: string,
  access: RegistryAccess = {},
): Promise<InspectedManifest> {
  const bytes = await skopeoInspectRaw(reference, access);
  const mediaType = (JSON.parse(bytes.toString("utf8")) as { mediaType?: string }).mediaType ?? "";
  return { digest: sha256Digest(bytes), mediaType, bytes };
}

export interface PushOptions {
  tag?: string;
  username?: string;
  password?: string;
}

const certificateDirectoryByCa = new Map<string, string>();

/** How skopeo reaches `registry`: plain http without verification, or https trusting its CA. */
export function registryAccess(
  registry: Pick<UpstreamRegistry, "ca">,
  credentials: { username?: string; password?: string } = {},
): RegistryAccess {
  const access: RegistryAccess = { ...credentials };
  if (registry.ca === undefined) {
    access.tlsVerify = false;
  } else {
    let directory = certificateDirectoryByCa.get(registry.ca);
    if (directory === undefined) {
      directory = makeTempDirectory("regmirror-certs-");
      writeFileSync(join(directory, "ca.crt"), registry.ca);
      certificateDirectoryByCa.set(registry.ca, directory);
    }
    access.tlsVerify = true;
    access.certificateDirectory = directory;
  }
  return access;
}

/**
 * Pushes a built image (every platform) to `registry` as REPOSITORY:TAG and returns
 * `HOST/REPOSITORY:TAG`. Without credentials it uses the registry's first user when the
 * registry has auth.
 */
export async function pushTestImage(
  image: TestImage,
  registry: UpstreamRegistry,
  repository: string,
  options: PushOptions = {},
): Promise<string> {
  const tag = options.tag ?? image.tag;
  const firstUser = registry.auth === "none" ? undefined : registry.users[0];
  const username = options.username ?? firstUser?.username;
  const password =
    options.password ?? (options.username === undefined ? firstUser?.password : undefined);
  const reference = `${registry.host}/${repository}:${tag}`;
  await skopeoCopy(image.skopeoSource, `docker://${reference}`, {
    destination: registryAccess(registry, {
      ...(username === undefined ? {} : { username, password: password ?? "" }),
    }),
  });
  return reference;
}

export interface PulledImage {
  /** A skopeo `dir:` directory: manifest.json, `<hex>.manifest.json` per platform, `<hex>` per blob. */
  directory: string;
  /** Digest, media type and bytes of the top-level manifest as the registry served it. */
  digest: string;
  mediaType: string;
  manifestBytes: Buffer;
}

/**
 * Copies `docker://REFERENCE` (every platform, digests preserved) into a fresh `dir:`
 * directory; `dir:` keeps manifests of every media type byte for byte, where `oci:` would
 * have to convert Docker ones.
 */
export async function skopeoPull(
  reference: string,
  access: RegistryAccess = {},
): Promise<PulledImage> {
  const directory = makeTempDirectory("regmirror-pulled-");
  await skopeoCopy(`docker://${reference}`, `dir:${directory}`, { source: access });
  const manifestBytes = readFileSync(join(directory, "manifest.json"));
  const mediaType =
    (JSON.parse(manifestBytes.toString("utf8")) as { mediaType?: string }).mediaType ?? "";
  return { directory, digest: sha256Digest(manifestBytes), mediaType, manifestBytes };
}
