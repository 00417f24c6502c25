// Which replica sweeps the S3 bucket the replicas share: the rendezvous owner of one fixed key
// among the live members, and the next in the key's ranking when the owner stops sweeping
// (docs/adr/0038-s3-redirect-and-shared-sweeps.md).
import type { SharedStorageOptions } from "@regmirror/blob-store";
import type { PeerMembership } from "./peer-membership.js";
import { ownerOf, rankMembers } from "./rendezvous.js";

/** Not a digest or a tag: no blob or manifest is owned under it. */
export const sweepKey = "regmirror store sweep";

/**
 * Sweeps of its own without a new mark of the owner's after which the replica ranked next stands
 * in for it; the one ranked after that waits twice as many, and so on: one stands in at a time.
 */
export const standInSweepsPerPlace = 5;

/**
 * This replica evicts from the shared bucket while it owns `sweepKey`. A replica that is not a
 * member (not ready) never does; when the owner leaves the list, the next in the key's ranking
 * takes over at once; when the owner stays listed but leaves no sweep mark (down, in a static
 * list), the next stands in after `standInSweepsPerPlace` sweeps.
 */
export function sweepTurn(membership: PeerMembership): SharedStorageOptions {
  return {
    evictsNow: () => ownerOf(sweepKey, membership.members()) === membership.self,
    standInAfterSweeps() {
      const place = rankMembers(sweepKey, membership.members()).indexOf(membership.self);
      return place < 1 ? undefined : place * standInSweepsPerPlace;
    },
  };
}
