// Tests of the client's token cache keys and scopes.
import { describe, expect, it } from "vitest";
import { repositoryScope, tokenExpiry } from "./registry-auth.js";

describe("repositoryScope", () => {
  it("puts one repository's actions in one scope", () => {
    expect(repositoryScope("library/nginx", ["pull", "push", "pull"])).toBe(
      "repository:library/nginx:pull,push",
    );
  });
});

describe("tokenExpiry", () => {
  const requestedAt = Date.parse("2026-11-22T00:00:00Z");

  it("counts expires_in from issued_at, minus a margin", () => {
    const body = { expires_in: 300, issued_at: "2026-11-21T23:59:50Z" };
    expect(tokenExpiry(body, requestedAt)).toBe(requestedAt - 10_000 + 300_000 - 30_000);
  });

  it("never trusts an issued_at from the future, and defaults to 60 s", () => {
    expect(tokenExpiry({ expires_in: 100, issued_at: "2026-11-22T01:00:00Z" }, requestedAt)).toBe(
      requestedAt + 100_000 - 10_000,
    );
    expect(tokenExpiry({}, requestedAt)).toBe(requestedAt + 60_000 - 6_000);
    expect(tokenExpiry({ expires_in: "soon", issued_at: "never" }, requestedAt)).toBe(
      requestedAt + 54_000,
    );
  });
});
