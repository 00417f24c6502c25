// Which replica sweeps the S3 bucket the replicas share: the rendezvous owner of one fixed key
// among the live members (docs/adr/0038-s3-redirect-and-shared-sweeps.md).
import type { SharedStorageOptions } from "@regmirror/blob-store";
import type { PeerMembership } from "./peer-membership.js";
import { ownerOf } from "./rendezvous.js";

/** Not a digest or a tag: no blob or manifest is owned under it. */
export const sweepKey = "regmirror store sweep";

/**
 * This replica evicts from the shared bucket while it owns `sweepKey`. A replica that is not a
 * member (not ready) never does; when the owner goes, the next in the key's ranking takes over.
 */
export function sweepTurn(membership: PeerMembership): SharedStorageOptions {
  return { evictsNow: () => ownerOf(sweepKey, membership.members()) === membership.self };
}
