import { Agent } from "node:http";
import { computeDigest } from "@regmirror/core";
import { makeTempDirectory, removeTempDirectory } from "@regmirror/test-kit";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRegistryErrorCode } from "../src/model/errors.js";
import { createExampleRegistry, type ExampleRegistry } from "../src/testing/index.js";
import { type PushedManifest, pushImage, rawRequest } from "./registry-fixtures.js";

const printable = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
const headerValue = fc.string({ unit: printable, maxLength: 60 });
const pathCharacter = fc.constantFrom(..."abcxyz019ABZ._~:@!$&'()*+,;=%-".split(""));

describe.each(["memory", "filesystem"] as const)(
  "server routing over %s storage (property: random requests)",
  (kind) => {
    let registry: ExampleRegistry;
    let pushed: PushedManifest;
    let uploadId: string;
    let rootDirectory: string | undefined;
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });

    beforeAll(async () => {
      rootDirectory = kind === "filesystem" ? makeTempDirectory("oci-property-") : undefined;
      registry = await createExampleRegistry({
        rootDirectory,
        limits: { maxManifestBytes: 4096, maxBlobBytes: 8192 },
      });
      pushed = await pushImage(registry.url, "seed/app", "v1", "property");
      const started = await fetch(`${registry.url}/v2/seed/app/blobs/uploads/`, { method: "POST" });
      uploadId = (started.headers.get("location") ?? "").split("/").at(-1) ?? "";
    });
    afterAll(async () => {
      agent.destroy();
      await registry?.close();
      if (rootDirectory !== undefined) await removeTempDirectory(rootDirectory);
    });

    it("never answers 500, always answers a known OCI error code, never echoes input into Location", async () => {
      const digestLike = fc.oneof(
        {
          weight: 3,
          arbitrary: fc.constantFrom(
            pushed.digest,
            pushed.layerDigest,
            pushed.configDigest,
            computeDigest("absent"),
          ),
        },
        fc.constantFrom("sha256:abc", "sha512:00", "md5:00", "sha256%3Aabc", ""),
        fc.string({ unit: pathCharacter, maxLength: 20 }),
      );
      const repository = fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom("seed/app", "seed/other", "new/repo") },
        fc.constantFrom("seed/../app", "a//b", "UP/per", "x".repeat(300)),
        fc.string({ unit: pathCharacter, maxLength: 20 }),
      );
      const endpoint = fc.oneof(
        fc.tuple(
          fc.constant("manifests"),
          fc.oneof(fc.constantFrom("v1", "latest", "-x", "a".repeat(200)), digestLike),
        ),
        fc.tuple(fc.constant("blobs"), digestLike),
        fc.tuple(
          fc.constant("blobs/uploads"),
          fc.oneof(
            fc.constantFrom("", uploadId, "../x"),
            fc.string({ unit: pathCharacter, maxLength: 20 }),
          ),
        ),
        fc.tuple(fc.constant("tags"), fc.constantFrom("list", "list/", "")),
        fc.tuple(fc.constant("referrers"), digestLike),
      );
      const structuredPath = fc
        .tuple(repository, endpoint)
        .map(([name, [kind, last]]) => `/v2/${name}/${kind}/${last}`);
      const segment = fc.oneof(
        fc.constantFrom(
          "v2",
          "seed",
          "app",
          "manifests",
          "blobs",
          "uploads",
          "tags",
          "list",
          "_catalog",
          "referrers",
        ),
        fc.constantFrom("..", ".", "", "v1", "latest", "Upper", "a--b", "a__b", "sha256:abc"),
        fc.string({ unit: pathCharacter, maxLength: 20 }),
      );
      const randomPath = fc
        .tuple(
          fc.constantFrom("/v2/", "/", "/v2/_catalog", "/v2"),
          fc.array(segment, { maxLength: 6 }),
        )
        .map(([prefix, segments]) => `${prefix}${segments.join("/")}`);
      const queryPair = fc.tuple(
        fc.constantFrom("n", "last", "digest", "mount", "from", "artifactType", "x"),
        fc.oneof(
          fc.constantFrom("0", "1", "-1", "99999999999", "seed/app", "v1"),
          fc.constant(pushed.layerDigest),
          fc.string({ unit: pathCharacter, maxLength: 12 }),
        ),
      );
      const request = fc.record({
        method: fc.constantFrom("GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"),
        base: fc.oneof(
          { weight: 3, arbitrary: structuredPath },
          { weight: 1, arbitrary: randomPath },
        ),
        query: fc.array(queryPair, { maxLength: 3 }),
        headers: fc.record(
          {
            range: fc.oneof(
              headerValue,
              fc.constantFrom("bytes=0-10", "bytes=-5", "bytes=5-", "bytes=99999-"),
            ),
            "content-range": fc.oneof(headerValue, fc.constantFrom("0-9", "0-0", "5-1")),
            accept: fc.oneof(
              headerValue,
              fc.constant("application/vnd.oci.image.manifest.v1+json"),
            ),
            "content-type": fc.oneof(
              headerValue,
              fc.constant("application/vnd.oci.image.index.v1+json"),
            ),
          },
          { requiredKeys: [] },
        ),
        body: fc.option(
          fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.constant(new Uint8Array(pushed.bytes))),
          {
            nil: undefined,
          },
        ),
      });

      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(request, async ({ method, base, query, headers, body }) => {
          const search = query.map(([key, value]) => `${key}=${value}`).join("&");
          const path = `${base}${search === "" ? "" : `?${search}`}`;
          const sentHeaders: Record<string, string> = { ...headers };
          if (body === undefined && (method === "PUT" || method === "POST" || method === "PATCH")) {
            sentHeaders["content-length"] = "0";
          }
          const response = await rawRequest(registry.host, method, path, sentHeaders, body, agent);
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          expect(response.status, `${method} ${path}`).not.toBe(500);
          expect(response.status).toBeLessThan(500);
          expect(response.headers["docker-distribution-api-version"]).toBe("registry/2.0");
          const location = response.headers.location;
          if (location !== undefined) {
            expect(location).toMatch(
              /^\/v2\/[a-z0-9._/-]+\/(?:blobs|manifests)\/(?:uploads\/[A-Za-z0-9_-]+|sha(?:256|512):[a-f0-9]+)$/,
            );
          }
          if (response.status >= 400 && method !== "HEAD") {
            const parsed = JSON.parse(response.body.toString("utf8")) as {
              errors: { code: string; message: string }[];
            };
            expect(parsed.errors.length).toBeGreaterThan(0);
            for (const entry of parsed.errors) {
              expect(isRegistryErrorCode(entry.code)).toBe(true);
              expect(typeof entry.message).toBe("string");
            }
          }
        }),
        { numRuns: 600 },
      );
      // The generator reaches past the router: successes and many kinds of refusal. (Which
      // success codes appear is up to the random run: requiring two kinds failed now and then.)
      expect([...statuses.keys()].filter((status) => status < 300).length).toBeGreaterThanOrEqual(
        1,
      );
      expect([...statuses.keys()].filter((status) => status >= 400).length).toBeGreaterThanOrEqual(
        3,
      );
    });
  },
);
