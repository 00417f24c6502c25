/**
 * Reads a changing member list (EndpointSlices, DNS) now and every interval into the membership.
 * A read that fails keeps the last list: a replica that lost its view of the others goes on
 * with the owners it knew rather than fetching everything from upstream. The first failure of a
 * run is logged, each one counted; the first success after failures is logged too.
 */
import { describeError, type Logger } from "@regmirror/core";
import type { PeerMembership } from "./peer-membership.js";
import type { PeerMetrics } from "./peer-metrics.js";

export interface MembersWatch {
  close(): void;
}

export interface MembersReader {
  /** `kubernetes` or `dns`: the metric's label. */
  readonly source: string;
  /** Fields that say where the members are read from (never a credential). */
  readonly where: Record<string, unknown>;
  /** The member URLs now; throws when they cannot be known. */
  read(): Promise<string[]>;
}

export function followMembers(
  reader: MembersReader,
  intervalMs: number,
  membership: PeerMembership,
  metrics: Pick<PeerMetrics, "membershipReadFailed">,
  logger: Logger,
): MembersWatch {
  let failing = false;
  async function readOnce() {
    try {
      const members = await reader.read();
      membership.update(members);
      if (failing) {
        logger.info(
          { ...reader.where, members: members.length },
          "reading the peer members works again",
        );
      }
      failing = false;
    } catch (error) {
      metrics.membershipReadFailed(reader.source);
      if (!failing) {
        logger.warn(
          { ...reader.where, source: reader.source, error: describeError(error) },
          "could not read the peer members: keeping the last list",
        );
      }
      failing = true;
    }
  }
  // One read at a time: a slow answer never overlaps the next.
  let reading = readOnce();
  const timer = setInterval(() => {
    reading = reading.then(readOnce);
  }, intervalMs);
  timer.unref();
  return {
    close() {
      clearInterval(timer);
    },
  };
}
