import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildTestImage,
  pushTestImage,
  registryAccess,
  skopeoPull,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "../src/index.js";

let image: TestImage;
beforeAll(async () => {
  image = await buildTestImage({ seed: "auth", layers: [700, 1200] });
});

describe("htpasswd upstream registry", () => {
  let registry: UpstreamRegistry;
  beforeAll(async () => {
    registry = await startUpstreamRegistry({
      auth: "htpasswd",
      users: [{ username: "alice", password: "alice-secret" }],
    });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("asks for credentials on /v2/", async () => {
    const response = await fetch(`${registry.url}/v2/`);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Basic /);
  });

  it("accepts a push and a pull by its user, with equal digests", async () => {
    const reference = await pushTestImage(image, registry, "private/app", {
      username: "alice",
      password: "alice-secret",
    });
    const pulled = await skopeoPull(
      reference,
      registryAccess(registry, { username: "alice", password: "alice-secret" }),
    );
    expect(pulled.digest).toBe(image.digest);
  });

  it("refuses a wrong password and an anonymous pull", async () => {
    await expect(
      pushTestImage(image, registry, "private/other", { username: "alice", password: "wrong" }),
    ).rejects.toThrow(/unauthorized|authentication required/i);
    await expect(
      skopeoPull(`${registry.host}/private/app:latest`, registryAccess(registry)),
    ).rejects.toThrow(/unauthorized|authentication required/i);
  });
});

describe("token-auth upstream registry", () => {
  let registry: UpstreamRegistry;
  beforeAll(async () => {
    registry = await startUpstreamRegistry({
      auth: "token",
      users: [
        { username: "owner", password: "owner-secret", repositories: { "*": ["pull", "push"] } },
        { username: "reader", password: "reader-secret", repositories: { "shared/*": ["pull"] } },
        { username: "stranger", password: "stranger-secret", repositories: {} },
      ],
      anonymousRepositories: { "public/app": ["pull"] },
    });
    for (const repository of ["shared/app", "public/app", "private/app"]) {
      await pushTestImage(image, registry, repository, {
        username: "owner",
        password: "owner-secret",
      });
    }
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("sends clients to the token issuer's realm", async () => {
    const response = await fetch(`${registry.url}/v2/`);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain(
      `realm="${registry.tokenIssuer?.realm}"`,
    );
  });

  it("lets a user with rights pull what they pushed, with equal digests", async () => {
    const pulled = await skopeoPull(
      `${registry.host}/private/app:latest`,
      registryAccess(registry, { username: "owner", password: "owner-secret" }),
    );
    expect(pulled.digest).toBe(image.digest);
    expect(registry.tokenIssuer?.issuedTokenCount()).toBeGreaterThan(0);
  });

  it("refuses a push by a user without rights", async () => {
    await expect(
      pushTestImage(image, registry, "private/app", {
        tag: "stranger",
        username: "stranger",
        password: "stranger-secret",
      }),
    ).rejects.toThrow(/unauthorized|authentication required|denied/i);
  });

  it("gives a reader pull but not push on the repositories granted", async () => {
    const access = registryAccess(registry, { username: "reader", password: "reader-secret" });
    expect((await skopeoPull(`${registry.host}/shared/app:latest`, access)).digest).toBe(
      image.digest,
    );
    await expect(skopeoPull(`${registry.host}/private/app:latest`, access)).rejects.toThrow(
      /unauthorized|authentication required|denied/i,
    );
    await expect(
      pushTestImage(image, registry, "shared/app", {
        tag: "reader",
        username: "reader",
        password: "reader-secret",
      }),
    ).rejects.toThrow(/unauthorized|authentication required|denied/i);
  });

  it("gives anonymous clients only what is granted to anonymous", async () => {
    const anonymous = registryAccess(registry);
    expect((await skopeoPull(`${registry.host}/public/app:latest`, anonymous)).digest).toBe(
      image.digest,
    );
    await expect(skopeoPull(`${registry.host}/private/app:latest`, anonymous)).rejects.toThrow(
      /unauthorized|authentication required|denied/i,
    );
  });

  it("refuses a token request with a wrong password", async () => {
    const issuer = registry.tokenIssuer;
    if (issuer === undefined) throw new Error("token registry has no issuer");
    const response = await fetch(
      `${issuer.realm}?service=${issuer.service}&scope=repository:private/app:pull`,
      {
        headers: { authorization: `Basic ${Buffer.from("owner:wrong").toString("base64")}` },
      },
    );
    expect(response.status).toBe(401);
  });
});
