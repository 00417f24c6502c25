/** Helpers for tests that talk HTTP to a registry: push blobs and manifests with plain fetch. */
import { request as httpRequest } from "node:http";
import { computeDigest } from "@regmirror/core";
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST } from "../src/model/media-types.js";

export async function pushBlob(
  baseUrl: string,
  repository: string,
  bytes: Uint8Array,
): Promise<string> {
  const digest = computeDigest(bytes);
  const response = await fetch(`${baseUrl}/v2/${repository}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream" },
    body: bytes,
  });
  if (response.status !== 201)
    throw new Error(`blob push answered ${response.status}: ${await response.text()}`);
  return digest;
}

export interface PushedManifest {
  digest: string;
  bytes: Buffer;
  configDigest: string;
  layerDigest: string;
}

/** Pushes a config, one layer and an OCI manifest (with extra fields) and returns them. */
export async function pushImage(
  baseUrl: string,
  repository: string,
  reference: string,
  seed: string,
  extra: Record<string, unknown> = {},
): Promise<PushedManifest> {
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", seed }));
  const layer = Buffer.from(`layer of ${seed}`);
  const configDigest = await pushBlob(baseUrl, repository, config);
  const layerDigest = await pushBlob(baseUrl, repository, layer);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.byteLength },
    layers: [{ mediaType: OCI_LAYER_GZIP, digest: layerDigest, size: layer.byteLength }],
    ...extra,
  };
  // Indented on purpose: the registry must keep the bytes as they are.
  const bytes = Buffer.from(JSON.stringify(manifest, null, 3));
  const response = await fetch(`${baseUrl}/v2/${repository}/manifests/${reference}`, {
    method: "PUT",
    headers: { "Content-Type": OCI_MANIFEST },
    body: bytes,
  });
  if (response.status !== 201)
    throw new Error(`manifest push answered ${response.status}: ${await response.text()}`);
  return { digest: computeDigest(bytes), bytes, configDigest, layerDigest };
}

export async function errorCodeOf(response: Response): Promise<string | undefined> {
  const body = (await response.json()) as { errors?: { code?: string }[] };
  return body.errors?.[0]?.code;
}

export interface RawResponse {
  status: number;
  headers: import("node:http").IncomingHttpHeaders;
  body: Buffer;
}

/** One request with the path sent exactly as given (fetch would normalize `..` away). */
export function rawRequest(
  host: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Uint8Array,
  agent?: import("node:http").Agent,
): Promise<RawResponse> {
  const [hostname = "127.0.0.1", port = "80"] = host.split(":");
  // Node frames a GET or DELETE body only when told its length.
  if (body !== undefined) headers = { ...headers, "content-length": String(body.byteLength) };
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { hostname, port: Number(port), method, path, headers, agent },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}
