import { expect, test } from "vitest";
import { createCacheTokens } from "./cache-tokens.js";

test("a token names its user until it expires; a changed or foreign token is refused", () => {
  let now = 1_000_000;
  const tokens = createCacheTokens({ secret: "shared-secret", ttlMs: 60_000, now: () => now });
  const { token, expiresInSeconds } = tokens.issue("carol");
  expect(expiresInSeconds).toBe(60);
  expect(tokens.verify(token)).toBe("carol");

  // Another replica with the same http.secret accepts it; one with another secret does not.
  expect(
    createCacheTokens({ secret: "shared-secret", ttlMs: 60_000, now: () => now }).verify(token),
  ).toBe("carol");
  expect(
    createCacheTokens({ secret: "other", ttlMs: 60_000, now: () => now }).verify(token),
  ).toBeUndefined();

  const [payload, signature] = token.split(".");
  const otherUser = Buffer.from(JSON.stringify({ sub: "mallory", exp: now + 60_000 })).toString(
    "base64url",
  );
  expect(tokens.verify(`${otherUser}.${signature}`)).toBeUndefined();
  expect(tokens.verify(`${payload}.`)).toBeUndefined();
  expect(tokens.verify("not-a-token")).toBeUndefined();

  now += 60_001;
  expect(tokens.verify(token)).toBeUndefined();
});
