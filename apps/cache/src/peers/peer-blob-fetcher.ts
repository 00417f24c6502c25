/**
 * A blob this replica does not own, fetched through the replicas: the digest's owner first, then
 * the next members in its rendezvous ranking; when the ranking reaches this replica, it asks
 * upstream itself. A download cut in the middle (the owner was killed) goes on from the byte it
 * stopped at with the next member (`Range`), so its clients see one unbroken body; the digest is
 * checked over the whole (docs/adr/0033-cache-peers.md).
 */
import type { IncomingMessage } from "node:http";
import { pipeline, Readable } from "node:stream";
import { createDigestVerifier, describeError, type Logger } from "@regmirror/core";
import { RegistryError } from "@regmirror/oci-distribution";
import { askingOrder, createPeerClient, PeerAnswerError, type PeerTls } from "./peer-client.js";
import type { PeerMembership } from "./peer-membership.js";
import type { PeerMetrics } from "./peer-metrics.js";
import { ownerOf, rankMembers } from "./rendezvous.js";

/** A download as a blob fill consumes it. */
export interface FillDownload {
  /** Undefined when the source did not say. */
  size: number | undefined;
  stream: Readable;
}

export interface PeerFillDownload extends FillDownload {
  /** True once this replica fetched bytes from upstream itself: it stores the blob then. */
  usedUpstream(): boolean;
}

export interface PeerBlobFetcherOptions {
  membership: PeerMembership;
  secret: string;
  /** How long a peer may take to start answering before the next one is asked. */
  answerWithinMs: number;
  /** Longest silence inside a peer's body before the next one is asked. */
  silenceMs: number;
  metrics: PeerMetrics;
  logger: Logger;
  /** Aborts every peer request (the storage closes). */
  signal: AbortSignal;
  tls?: PeerTls | undefined;
}

export interface PeerBlobFetcher {
  /** True when another member owns `digest`: a miss goes through the peers. */
  ownedByOther(digest: string): boolean;
  /** True when this replica owns `digest`. */
  ownedBySelf(digest: string): boolean;
  open(
    repositoryPath: string,
    digest: string,
    fromUpstream: () => Promise<FillDownload>,
    /** Counts bytes this replica took from upstream when it fell back to it. */
    onUpstreamBytes: (bytes: number) => void,
  ): Promise<PeerFillDownload>;
}

/** Drops the first `count` bytes of a stream (a source that could not start at an offset). */
async function* skipBytes(stream: AsyncIterable<Buffer>, count: number): AsyncGenerator<Buffer> {
  let skipped = 0;
  for await (const chunk of stream) {
    if (skipped >= count) {
      yield chunk;
      continue;
    }
    const take = Math.min(count - skipped, chunk.byteLength);
    skipped += take;
    if (take < chunk.byteLength) yield chunk.subarray(take);
  }
}

function contentRangeTotal(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^bytes\s+\d+-\d+\/(\d+)$/i.exec(value.trim());
  return match ? Number(match[1]) : undefined;
}

export function createPeerBlobFetcher(options: PeerBlobFetcherOptions): PeerBlobFetcher {
  const { membership, metrics, logger } = options;
  const { self } = membership;

  const peerClient = createPeerClient({
    self,
    secret: options.secret,
    answerWithinMs: options.answerWithinMs,
    silenceMs: options.silenceMs,
    signal: options.signal,
    tls: options.tls,
  });

  return {
    ownedByOther(digest) {
      const owner = ownerOf(digest, membership.members());
      return owner !== undefined && owner !== self;
    },

    ownedBySelf(digest) {
      return ownerOf(digest, membership.members()) === self;
    },

    async open(repositoryPath, digest, fromUpstream, onUpstreamBytes) {
      // This replica stands for "upstream": members ranked after it are not asked.
      const order = askingOrder(rankMembers(digest, membership.members()), self);
      let usedUpstream = false;
      let size: number | undefined;

      interface Opened {
        index: number;
        member: string;
        stream: AsyncIterable<Buffer>;
      }

      async function openAt(start: number, offset: number): Promise<Opened> {
        for (let index = start; index < order.length; index += 1) {
          const member = order[index] ?? self;
          if (member === self) {
            metrics.fallbackToUpstream();
            usedUpstream = true;
            const download = await fromUpstream();
            size ??= download.size;
            const stream = download.stream as AsyncIterable<Buffer>;
            return { index, member, stream: offset > 0 ? skipBytes(stream, offset) : stream };
          }
          let response: IncomingMessage;
          try {
            response = await peerClient(
              member,
              "GET",
              `/v2/${repositoryPath}/blobs/${digest}`,
              offset > 0 ? { range: `bytes=${offset}-` } : {},
            );
          } catch (error) {
            metrics.peerMiss(member, "unreachable");
            logger.warn(
              { peer: member, digest, error: describeError(error) },
              "a peer did not answer: asking the next replica",
            );
            continue;
          }
          const status = response.statusCode ?? 0;
          if (status === 404) {
            response.resume();
            throw new RegistryError("BLOB_UNKNOWN", {
              status: 404,
              message: `blob unknown to upstream (asked through the replica ${member})`,
            });
          }
          const length = Number(response.headers["content-length"]);
          const total =
            status === 206 ? contentRangeTotal(response.headers["content-range"]) : length;
          if ((status !== 200 && status !== 206) || !Number.isSafeInteger(total)) {
            response.resume();
            metrics.peerMiss(member, `status ${status}`);
            if (status === 401) {
              logger.error(
                { peer: member, digest, status },
                "a peer refused this replica's signature: do all replicas have the same regmirror.peers.secret?",
              );
            } else {
              logger.warn(
                { peer: member, digest, status },
                "a peer could not give a blob: asking the next replica",
              );
            }
            continue;
          }
          if (size !== undefined && total !== size) {
            response.resume();
            metrics.peerMiss(member, "size");
            logger.warn({ peer: member, digest, size, total }, "a peer gave another size");
            continue;
          }
          size = total;
          metrics.peerHit(member);
          const stream = status === 200 && offset > 0 ? skipBytes(response, offset) : response;
          return { index, member, stream: stream as AsyncIterable<Buffer> };
        }
        throw new PeerAnswerError("no replica could give the blob");
      }

      const first = await openAt(0, 0);
      async function* body(): AsyncGenerator<Buffer> {
        let current = first;
        let received = 0;
        for (;;) {
          try {
            for await (const chunk of current.stream) {
              received += chunk.byteLength;
              if (current.member === self) onUpstreamBytes(chunk.byteLength);
              else metrics.bytesFromPeers(chunk.byteLength);
              yield chunk;
            }
            if (size === undefined || received >= size) return;
            throw new PeerAnswerError(`the body ended after ${received} of ${size} bytes`);
          } catch (error) {
            // Upstream's own client has resumed already; its failure is the fill's failure.
            if (current.member === self) throw error;
            metrics.peerMiss(current.member, "cut");
            logger.warn(
              { peer: current.member, digest, received, error: describeError(error) },
              "a peer's download broke off: going on with the next replica",
            );
            current = await openAt(current.index + 1, received);
          }
        }
      }
      const verifier = createDigestVerifier(digest, size);
      const stream = pipeline(Readable.from(body(), { objectMode: false }), verifier, () => {});
      return { size, stream, usedUpstream: () => usedUpstream };
    },
  };
}
