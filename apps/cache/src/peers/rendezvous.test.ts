import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import { ownerOf, rankMembers } from "./rendezvous.js";

const digests = Array.from(
  { length: 3_000 },
  (_, index) => `sha256:${createHash("sha256").update(String(index)).digest("hex")}`,
);
const three = ["http://10.0.0.1:5000", "http://10.0.0.2:5000", "http://10.0.0.3:5000"];

function owners(members: readonly string[]): Map<string, string | undefined> {
  return new Map(digests.map((digest) => [digest, ownerOf(digest, members)]));
}

describe("rendezvous ownership", () => {
  test("every replica computes the same owner, whatever order it lists the members in", () => {
    const reversed = [...three].reverse();
    for (const digest of digests.slice(0, 200)) {
      expect(ownerOf(digest, reversed)).toBe(ownerOf(digest, three));
      expect(rankMembers(digest, reversed)).toEqual(rankMembers(digest, three));
      expect(rankMembers(digest, three)[0]).toBe(ownerOf(digest, three));
    }
  });

  test("the digests are spread over the members", () => {
    const counts = new Map<string, number>();
    for (const owner of owners(three).values()) {
      counts.set(owner ?? "", (counts.get(owner ?? "") ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(three);
    // 1,000 expected each; a fair hash stays well within ±20 %.
    for (const count of counts.values()) expect(count).toBeGreaterThan(800);
  });

  test("a replica that comes moves only the digests it now owns", () => {
    const before = owners(three);
    const fourth = "http://10.0.0.4:5000";
    const after = owners([...three, fourth]);
    let moved = 0;
    for (const digest of digests) {
      if (after.get(digest) === before.get(digest)) continue;
      moved += 1;
      expect(after.get(digest)).toBe(fourth);
    }
    expect(moved).toBeGreaterThan(0);
  });

  test("a replica that goes moves only the digests it owned, to the next in its ranking", () => {
    const before = owners(three);
    const gone = three[1] ?? "";
    const remaining = three.filter((member) => member !== gone);
    const after = owners(remaining);
    for (const digest of digests) {
      if (before.get(digest) === gone) {
        expect(after.get(digest)).toBe(rankMembers(digest, three)[1]);
      } else {
        expect(after.get(digest)).toBe(before.get(digest));
      }
    }
  });

  test("no members: no owner", () => {
    expect(ownerOf(digests[0] ?? "", [])).toBeUndefined();
    expect(rankMembers(digests[0] ?? "", [])).toEqual([]);
  });
});
