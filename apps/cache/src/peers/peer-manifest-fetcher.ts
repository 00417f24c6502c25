/**
 * Manifests and tag lookups through the replicas, coalesced as blobs are: a manifest by digest
 * comes from its digest's owner, a tag is resolved by the tag's owner (which asks upstream once
 * for everyone, with its tag freshness). Each answer is checked (the bytes against the digest);
 * `undefined` means "ask upstream here": this replica owns the key, serves a peer's request, or
 * is next in line after replicas that could not answer (docs/adr/0033-cache-peers.md).
 */
import type { IncomingMessage } from "node:http";
import { computeDigest, describeError, type Logger, parseDigest } from "@regmirror/core";
import { ALL_MANIFEST_MEDIA_TYPES, RegistryError } from "@regmirror/oci-distribution";
import { askingOrder, type PeerClient } from "./peer-client.js";
import type { PeerMembership } from "./peer-membership.js";
import type { PeerMetrics } from "./peer-metrics.js";
import { servingPeerRequest } from "./peer-request.js";
import { rankMembers } from "./rendezvous.js";

export interface PeerManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface PeerManifestFetcher {
  byDigest(repositoryPath: string, digest: string): Promise<PeerManifest | undefined>;
  /** The digest and media type a tag has, as its owner resolved it. */
  resolveTag(
    repositoryPath: string,
    tagKey: string,
    tag: string,
  ): Promise<{ digest: string; mediaType: string } | undefined>;
}

export interface PeerManifestFetcherOptions {
  membership: PeerMembership;
  client: PeerClient;
  metrics: PeerMetrics;
  logger: Logger;
  maxManifestBytes: number;
}

const accept = ALL_MANIFEST_MEDIA_TYPES.join(", ");

async function readLimited(response: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > limit) {
      response.destroy();
      throw new Error(`a manifest larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

export function createPeerManifestFetcher(
  options: PeerManifestFetcherOptions,
): PeerManifestFetcher {
  const { membership, client, metrics, logger } = options;
  const { self } = membership;

  /**
   * Asks the replicas before this one in `key`'s ranking; `read` turns a 200 into the answer
   * (throwing when it is not acceptable). A 404 is final: the owner asked upstream.
   */
  async function ask<T>(
    key: string,
    method: "GET" | "HEAD",
    path: string,
    read: (response: IncomingMessage) => Promise<T>,
  ): Promise<T | undefined> {
    if (servingPeerRequest()) return undefined;
    const order = askingOrder(rankMembers(key, membership.members()), self);
    if (order[0] === self) return undefined;
    for (const member of order) {
      if (member === self) break;
      try {
        const response = await client(member, method, path, { accept });
        if (response.statusCode === 404) {
          response.resume();
          throw new RegistryError("MANIFEST_UNKNOWN", {
            status: 404,
            message: `manifest unknown to upstream (asked through the replica ${member})`,
          });
        }
        if (response.statusCode !== 200) {
          response.resume();
          throw new Error(`HTTP ${response.statusCode}`);
        }
        const answer = await read(response);
        metrics.peerHit(member);
        return answer;
      } catch (error) {
        if (RegistryError.isInstance(error)) throw error;
        metrics.peerMiss(member, "manifest");
        logger.warn(
          { peer: member, key, error: describeError(error) },
          "a peer could not give a manifest: asking the next replica",
        );
      }
    }
    metrics.fallbackToUpstream();
    return undefined;
  }

  const mediaTypeOf = (response: IncomingMessage) =>
    String(response.headers["content-type"] ?? "")
      .split(";")[0]
      ?.trim() ?? "";

  return {
    byDigest(repositoryPath, digest) {
      return ask(digest, "GET", `/v2/${repositoryPath}/manifests/${digest}`, async (response) => {
        const bytes = await readLimited(response, options.maxManifestBytes);
        const computed = computeDigest(bytes, parseDigest(digest).algorithm);
        if (computed !== digest) {
          throw new Error(`the manifest's bytes hash to ${computed}, not ${digest}`);
        }
        return { digest, mediaType: mediaTypeOf(response), bytes };
      });
    },

    resolveTag(repositoryPath, tagKey, tag) {
      return ask(tagKey, "HEAD", `/v2/${repositoryPath}/manifests/${tag}`, async (response) => {
        response.resume();
        const digest = response.headers["docker-content-digest"];
        if (
          typeof digest !== "string" ||
          !/^sha(256:[0-9a-f]{64}|512:[0-9a-f]{128})$/.test(digest)
        ) {
          throw new Error("no Docker-Content-Digest in the answer");
        }
        return { digest, mediaType: mediaTypeOf(response) };
      });
    },
  };
}
