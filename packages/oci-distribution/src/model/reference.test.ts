// Tests of image reference parsing and formatting.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatFamiliarReference,
  formatReference,
  InvalidReferenceError,
  isValidRepositoryName,
  isValidTag,
  parseReference,
  registryApiHost,
} from "./reference.js";

const digest = `sha256:${"a".repeat(64)}`;

describe("parseReference", () => {
  it.each([
    ["nginx", { registry: "docker.io", repository: "library/nginx", tag: "latest" }],
    ["nginx:1.27", { registry: "docker.io", repository: "library/nginx", tag: "1.27" }],
    ["user/app", { registry: "docker.io", repository: "user/app", tag: "latest" }],
    [
      "index.docker.io/nginx",
      { registry: "docker.io", repository: "library/nginx", tag: "latest" },
    ],
    ["registry-1.docker.io/a/b:c", { registry: "docker.io", repository: "a/b", tag: "c" }],
    ["localhost/app", { registry: "localhost", repository: "app", tag: "latest" }],
    ["localhost:5000/app:v1", { registry: "localhost:5000", repository: "app", tag: "v1" }],
    ["127.0.0.1:5000/a/b/c", { registry: "127.0.0.1:5000", repository: "a/b/c", tag: "latest" }],
    ["[::1]:5000/app", { registry: "[::1]:5000", repository: "app", tag: "latest" }],
    [`ghcr.io/o/r@${digest}`, { registry: "ghcr.io", repository: "o/r", digest }],
    [`quay.io/o/r:v2@${digest}`, { registry: "quay.io", repository: "o/r", tag: "v2", digest }],
    ["Registry.Example/app", { registry: "Registry.Example", repository: "app", tag: "latest" }],
    ["a__b/c--d.e", { registry: "docker.io", repository: "a__b/c--d.e", tag: "latest" }],
  ])("parses %s", (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  it.each([
    ["", "reference"],
    ["NGINX", "repository"],
    ["nginx:", "tag"],
    ["nginx:-bad", "tag"],
    [`nginx:${"a".repeat(129)}`, "tag"],
    ["nginx@sha256:abc", "digest"],
    [`nginx@md5:${"a".repeat(32)}`, "digest"],
    ["a//b", "repository"],
    ["docker.io/../etc", "repository"],
    ["example.com/", "repository"],
    ["exa_mple.com/app", "registry"],
    ["example.com:port/app", "registry"],
    [`example.com/${"a".repeat(250)}`, "repository"],
    ["app-/x", "repository"],
  ])("rejects %s naming the %s", (input, part) => {
    const error = (() => {
      try {
        parseReference(input);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(InvalidReferenceError);
    expect((error as InvalidReferenceError).part).toBe(part);
    expect((error as InvalidReferenceError).message).toContain(part);
  });

  it("formats the qualified and the familiar form", () => {
    const reference = parseReference(`nginx:1@${digest}`);
    expect(formatReference(reference)).toBe(`docker.io/library/nginx:1@${digest}`);
    expect(formatFamiliarReference(reference)).toBe(`nginx:1@${digest}`);
    expect(formatFamiliarReference(parseReference("ghcr.io/o/r:v"))).toBe("ghcr.io/o/r:v");
  });

  it("sends Docker Hub API requests to registry-1.docker.io", () => {
    expect(registryApiHost("docker.io")).toBe("registry-1.docker.io");
    expect(registryApiHost("index.docker.io")).toBe("registry-1.docker.io");
    expect(registryApiHost("ghcr.io")).toBe("ghcr.io");
  });

  it("validates repository names and tags on their own", () => {
    expect(isValidRepositoryName("a/b-c/d_e")).toBe(true);
    expect(isValidRepositoryName("a/../b")).toBe(false);
    expect(isValidRepositoryName("a/")).toBe(false);
    expect(isValidTag("v1.0_rc-1")).toBe(true);
    expect(isValidTag(".hidden")).toBe(false);
  });
});

describe("parseReference (property)", () => {
  const component = fc.stringMatching(/^[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,8}){0,2}$/);

  it("round-trips every well-formed reference through formatReference", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("ghcr.io", "localhost:5000", "example.com", "10.0.0.1:443"),
        fc.array(component, { minLength: 1, maxLength: 4 }),
        fc.option(fc.stringMatching(/^\w[\w.-]{0,20}$/), { nil: undefined }),
        (registry, segments, tag) => {
          const repository = segments.join("/");
          const input = `${registry}/${repository}${tag === undefined ? "" : `:${tag}`}`;
          const parsed = parseReference(input);
          expect(parsed).toEqual({ registry, repository, tag: tag ?? "latest" });
          expect(parseReference(formatReference(parsed))).toEqual(parsed);
        },
      ),
    );
  });

  it("throws only InvalidReferenceError on arbitrary input", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (input) => {
        try {
          const parsed = parseReference(input);
          expect(isValidRepositoryName(parsed.repository)).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidReferenceError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
