import { silentLogger, systemClock } from "@regmirror/core";
import {
  InvalidDigestError,
  InvalidReferenceError,
  RegistryClientError,
  RegistryError,
} from "@regmirror/oci-distribution";
import type { EffectiveUpstream } from "@regmirror/schemas";
import {
  buildTestImage,
  pushTestImage,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { noopPullThroughMetrics } from "../pull-through/pull-through-metrics.js";
import { connectUpstream, type UpstreamConnection } from "../pull-through/upstream-connection.js";
import type { ClientAuth } from "./client-auth.js";
import { createPassThroughClientAuth } from "./pass-through-client-auth.js";
import { answerOf } from "./upstream-access-check.js";

describe("an upstream answer is 'allowed' only when the upstream said yes", () => {
  test.each([
    ["401", new RegistryError("UNAUTHORIZED"), "refused"],
    ["403", new RegistryError("DENIED"), "refused"],
    ["404", new RegistryError("BLOB_UNKNOWN"), "absent"],
    ["400", new RegistryError("NAME_INVALID"), "unavailable"],
    ["429", new RegistryError("TOOMANYREQUESTS"), "unavailable"],
    ["500", new RegistryError("UNKNOWN"), "unavailable"],
    ["no token", new RegistryClientError("TOKEN_REQUEST_FAILED", "no"), "refused"],
    ["timeout", new RegistryClientError("TIMEOUT", "slow"), "unavailable"],
    ["a bad name", new InvalidReferenceError("repository", "too long"), "invalid-input"],
    ["a bad tag", new InvalidReferenceError("tag", "bad"), "invalid-input"],
    ["a bad digest", new InvalidDigestError("bad", "digest"), "invalid-input"],
    ["anything else", new TypeError("surprise"), "unavailable"],
  ])("%s → %s", (_, error, verdict) => {
    expect(answerOf(error).verdict).toBe(verdict);
  });

  test("input the client cannot send becomes a 400 naming what was wrong", () => {
    const answer = answerOf(new InvalidReferenceError("repository", "longer than 255 characters"));
    expect(answer.verdict === "invalid-input" && answer.error.code).toBe("NAME_INVALID");
    expect(answer.verdict === "invalid-input" && answer.error.status).toBe(400);
    const digest = answerOf(new InvalidDigestError("unsupported algorithm", "algorithm"));
    expect(digest.verdict === "invalid-input" && digest.error.code).toBe("DIGEST_INVALID");
  });
});

describe("fault injected: a router that lets an over-long routed name through", () => {
  // An upstream without auth: it lets anyone pull, so every refusal below is the cache's own.
  let upstream: UpstreamRegistry;
  let image: TestImage;
  let auth: ClientAuth;
  let hub: UpstreamConnection;

  beforeAll(async () => {
    upstream = await startUpstreamRegistry();
    image = await buildTestImage({ seed: "pass-through-unit", layers: [256] });
    await pushTestImage(image, upstream, "library/app");
    const configured: EffectiveUpstream = {
      name: "hub",
      hosts: ["docker.io"],
      endpoints: [upstream.url],
      credentials: { kind: "none" },
      caFiles: [],
    };
    hub = await connectUpstream(configured, {
      logger: silentLogger,
      metrics: noopPullThroughMetrics,
      client: {},
      bounds: {
        answerWithinMs: 30_000,
        circuitBreaker: { failures: 5, openForMs: 30_000 },
        rateLimits: { headroom: { pulls: 0 }, backOffMs: 30_000 },
      },
      clock: systemClock,
      signal: new AbortController().signal,
    });
    auth = createPassThroughClientAuth({
      // Adds library/ without checking the result, as the router did before issue 12.
      router: { route: (path) => ({ upstream: hub, repository: `library/${path}` }) },
      decisionTtlMs: 60_000,
      realm: "test",
      logger: silentLogger,
    });
  });

  afterAll(async () => {
    await hub?.close();
    await upstream?.stop();
  });

  test("the upstream check refuses it with 400, where a valid name is allowed", async () => {
    const layer = image.manifests[0]?.layerDigests[0] ?? "";
    const allowed = await auth.authorize(
      { authorization: undefined },
      { endpoint: "blob", repository: "app", digest: layer },
    );
    expect(allowed).toEqual({ allowed: true });
    for (const repository of ["a".repeat(248), "a".repeat(255)]) {
      for (const route of [
        { endpoint: "blob", repository, digest: layer } as const,
        { endpoint: "manifest", repository, reference: image.digest } as const,
        { endpoint: "manifest", repository, reference: image.tag } as const,
        { endpoint: "tags", repository } as const,
      ]) {
        const decision = await auth.authorize({ authorization: undefined }, route);
        expect(decision.allowed).toBe(false);
        expect(!decision.allowed && decision.error.code).toBe("NAME_INVALID");
        expect(!decision.allowed && decision.error.status).toBe(400);
      }
    }
  });
});
