/**
 * Rendezvous (highest-random-weight) hashing: every replica ranks the members for a key the
 * same way, from the key and the member names alone. The first is the key's owner; when a
 * member comes or goes, only the keys it ranked first move (docs/adr/0033-cache-peers.md).
 */
import { createHash } from "node:crypto";

/** A member's weight for a key: the first 8 bytes of SHA-256 over both, as an unsigned number. */
function weight(member: string, key: string): bigint {
  return createHash("sha256").update(member).update("\n").update(key).digest().readBigUInt64BE(0);
}

/**
 * The members in the order they are asked for `key`: the owner first, then who takes over
 * when it is down. Ties (practically never) fall back to the member names, so the order is total.
 */
export function rankMembers(key: string, members: readonly string[]): string[] {
  return members
    .map((member) => ({ member, weight: weight(member, key) }))
    .sort((a, b) =>
      a.weight === b.weight ? a.member.localeCompare(b.member) : a.weight > b.weight ? -1 : 1,
    )
    .map(({ member }) => member);
}

/** The key's owner among the members; undefined for an empty list. */
export function ownerOf(key: string, members: readonly string[]): string | undefined {
  let best: { member: string; weight: bigint } | undefined;
  for (const member of members) {
    const candidate = weight(member, key);
    if (
      best === undefined ||
      candidate > best.weight ||
      (candidate === best.weight && member.localeCompare(best.member) < 0)
    ) {
      best = { member, weight: candidate };
    }
  }
  return best?.member;
}
