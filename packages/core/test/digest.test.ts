import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ContentError,
  computeDigest,
  createDigestVerifier,
  DigestMismatchError,
  InvalidDigestError,
  isDigest,
  parseDigest,
  SizeMismatchError,
} from "../src/index.js";

async function drain(chunks: Buffer[], verifier: ReturnType<typeof createDigestVerifier>) {
  const received: Buffer[] = [];
  await pipeline(Readable.from(chunks), verifier, async (source) => {
    for await (const chunk of source) received.push(chunk as Buffer);
  });
  return Buffer.concat(received);
}

describe("digests", () => {
  it("parses sha256 and sha512 and names the wrong part", () => {
    expect(parseDigest(`sha256:${"0".repeat(64)}`)).toEqual({
      algorithm: "sha256",
      encoded: "0".repeat(64),
    });
    expect(parseDigest(`sha512:${"f".repeat(128)}`).algorithm).toBe("sha512");
    expect(() => parseDigest(`sha256:${"A".repeat(64)}`)).toThrow(/sha256 needs 64 lowercase hex/);
    expect(() => parseDigest(`md5:${"a".repeat(32)}`)).toThrow(/unsupported algorithm/);
    expect(() => parseDigest("sha256")).toThrow(/missing ":"/);
    expect(() => parseDigest("SHA256:ab")).toThrow(InvalidDigestError);
    expect(isDigest(computeDigest("x"))).toBe(true);
  });

  it("accepts sha256 and sha512 digests of bytes", () => {
    const sha256 = computeDigest("hello");
    expect(sha256).toBe("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    expect(parseDigest(sha256)).toEqual({ algorithm: "sha256", encoded: sha256.slice(7) });
    expect(parseDigest(computeDigest("hello", "sha512")).algorithm).toBe("sha512");
  });

  it.each([
    ["", /algorithm:hex/],
    ["sha256", /algorithm:hex/],
    [":abc", /algorithm:hex/],
    ["sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709", /unsupported algorithm "sha1"/],
    ["sha256:abc", /64 lowercase hex/],
    [`sha256:${"g".repeat(64)}`, /64 lowercase hex/],
    [`sha256:${"A".repeat(64)}`, /64 lowercase hex/],
    [`sha512:${"a".repeat(64)}`, /128 lowercase hex/],
    ["../../etc/passwd:x", /unsupported algorithm/],
  ])("refuses %j with a message saying why", (digest, message) => {
    let caught: unknown;
    try {
      parseDigest(digest);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidDigestError);
    expect(ContentError.isInstance(caught)).toBe(true);
    expect(caught).toMatchObject({ code: "INVALID_DIGEST" });
    expect((caught as Error).message).toMatch(message);
  });

  it("computes what crypto computes", () => {
    const bytes = randomBytes(1000);
    expect(computeDigest(bytes)).toBe(`sha256:${createHash("sha256").update(bytes).digest("hex")}`);
    expect(computeDigest(bytes, "sha512")).toBe(
      `sha512:${createHash("sha512").update(bytes).digest("hex")}`,
    );
  });

  it("passes matching content through unchanged", async () => {
    const bytes = randomBytes(100_000);
    const chunks = [bytes.subarray(0, 10), bytes.subarray(10, 70_000), bytes.subarray(70_000)];
    const verifier = createDigestVerifier(computeDigest(bytes), bytes.length);
    const out = await drain(chunks, verifier);
    expect(out.equals(bytes)).toBe(true);
    expect(verifier.size).toBe(bytes.length);
  });

  it("fails the stream on a changed byte, a short or a long body", async () => {
    const bytes = randomBytes(5000);
    const digest = computeDigest(bytes);
    const corrupted = Buffer.from(bytes);
    corrupted[4000] = (corrupted[4000] ?? 0) ^ 1;
    await expect(drain([corrupted], createDigestVerifier(digest))).rejects.toBeInstanceOf(
      DigestMismatchError,
    );
    await expect(
      drain([bytes.subarray(0, 4999)], createDigestVerifier(digest, 5000)),
    ).rejects.toBeInstanceOf(SizeMismatchError);
    await expect(
      drain([bytes, Buffer.from("x")], createDigestVerifier(digest, 5000)),
    ).rejects.toMatchObject({ code: "SIZE_MISMATCH", expected: 5000, actual: 5001 });
  });

  it("throws only InvalidDigestError on arbitrary input (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc
            .tuple(
              fc.constantFrom("sha256", "sha512", "sha384", "x"),
              fc.string({ maxLength: 140 }),
            )
            .map(([a, e]) => `${a}:${e}`),
        ),
        (input) => {
          try {
            const parsed = parseDigest(input);
            expect(`${parsed.algorithm}:${parsed.encoded}`).toBe(input);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidDigestError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("accepts every real digest (property)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 512 }),
        fc.constantFrom("sha256", "sha512" as const),
        (bytes, algorithm) => {
          expect(isDigest(computeDigest(bytes, algorithm))).toBe(true);
        },
      ),
    );
  });
});
