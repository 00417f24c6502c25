import { describe, expect, it } from "vitest";
import { digestOf, InvalidDigestError, isBlobStoreError, parseDigest } from "../src/index.js";

describe("parseDigest", () => {
  it("accepts sha256 and sha512 digests", () => {
    const sha256 = digestOf("hello");
    expect(sha256).toBe("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    expect(parseDigest(sha256)).toEqual({
      algorithm: "sha256",
      hex: sha256.slice(7),
      digest: sha256,
    });
    expect(parseDigest(digestOf("hello", "sha512")).algorithm).toBe("sha512");
  });

  it.each([
    ["", /algorithm:hex/],
    ["sha256", /algorithm:hex/],
    [":abc", /algorithm:hex/],
    ["sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709", /unsupported algorithm "sha1"/],
    ["sha256:abc", /64 lower-case hex/],
    [`sha256:${"g".repeat(64)}`, /64 lower-case hex/],
    [`sha256:${"A".repeat(64)}`, /64 lower-case hex/],
    [`sha512:${"a".repeat(64)}`, /128 lower-case hex/],
    ["../../etc/passwd:x", /unsupported algorithm/],
  ])("refuses %j with a message saying why", (digest, message) => {
    let caught: unknown;
    try {
      parseDigest(digest);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidDigestError);
    expect(isBlobStoreError(caught)).toBe(true);
    expect((caught as Error).message).toMatch(message);
  });
});
