// Tests of the client's auth against docker-registry with htpasswd and token auth.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@regmirror/core";
import {
  buildTestImage,
  makeTempDirectory,
  removeTempDirectory,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf, pushImageWithClient } from "../../test/client-test-support.js";
import { RegistryError } from "../model/errors.js";
import { RegistryClientError } from "./client-errors.js";
import { createRegistryClient, type RegistryClientOptions } from "./registry-client.js";

/** Everything the client said: log fields and messages, and the errors it threw. */
function recordingLogger(): Logger & { text(): string } {
  const lines: string[] = [];
  const record = (fields: Record<string, unknown>, message: string) => {
    lines.push(`${message} ${JSON.stringify(fields)}`);
  };
  return { debug: record, info: record, warn: record, error: record, text: () => lines.join("\n") };
}

function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error) {
    parts.push(current.message, JSON.stringify(current));
    current = current.cause;
  }
  return parts.join("\n");
}

const clients: { close(): Promise<void> }[] = [];
function client(options: RegistryClientOptions) {
  const created = createRegistryClient({ retry: { retries: 0 }, ...options });
  clients.push(created);
  return created;
}
afterAll(async () => {
  await Promise.all(clients.map((created) => created.close()));
});

describe("registry client against docker-registry without auth", () => {
  let registry: UpstreamRegistry;
  let image: TestImage;

  beforeAll(async () => {
    registry = await startUpstreamRegistry({ auth: "none" });
    image = await buildTestImage({ seed: "client-anonymous", layers: [2048] });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("pings, pushes and pulls anonymously, given a bare loopback host", async () => {
    const anonymous = client({ registry: registry.host });
    expect(anonymous.url.href).toBe(`${registry.url}/`);
    expect(await anonymous.ping()).toEqual({ apiVersion: "registry/2.0" });
    await pushImageWithClient(anonymous, "open/app", image);
    const manifest = await anonymous.getManifest("open/app", image.tag);
    expect(manifest.digest).toBe(image.digest);
    expect(manifest.bytes.equals(image.bytes)).toBe(true);
  });
});

describe("registry client against docker-registry with htpasswd auth", () => {
  let registry: UpstreamRegistry;
  let image: TestImage;
  const user = { username: "basic-user", password: "basic-secret-password" };

  beforeAll(async () => {
    registry = await startUpstreamRegistry({ auth: "htpasswd", users: [user] });
    image = await buildTestImage({ seed: "client-htpasswd" });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("answers UNAUTHORIZED without credentials", async () => {
    const error = await errorOf(
      client({ registry: registry.url }).getManifest("private/app", "latest"),
    );
    expect(RegistryError.isInstance(error) && error.code).toBe("UNAUTHORIZED");
    expect(RegistryError.isInstance(error) && error.status).toBe(401);
  });

  it("pushes and pulls with Basic credentials", async () => {
    const logger = recordingLogger();
    const authorized = client({ registry: registry.url, credentials: user, logger });
    const digest = await pushImageWithClient(authorized, "private/app", image);
    expect(digest).toBe(image.digest);
    expect((await authorized.headManifest("private/app", image.tag)).digest).toBe(image.digest);
    expect(logger.text()).not.toContain(user.password);
  });

  it("answers UNAUTHORIZED for a wrong password and never repeats it", async () => {
    const logger = recordingLogger();
    const wrong = client({
      registry: registry.url,
      credentials: { username: user.username, password: "wrong-secret-password" },
      logger,
    });
    const error = await errorOf(wrong.ping());
    expect(RegistryError.isInstance(error) && error.code).toBe("UNAUTHORIZED");
    expect(describeError(error)).not.toContain("wrong-secret-password");
    expect(logger.text()).not.toContain("wrong-secret-password");
  });

  it("takes credentials from a Docker config.json, and names a credential helper it cannot run", async () => {
    const directory = makeTempDirectory("regmirror-client-docker-config-");
    try {
      const withAuth = join(directory, "config.json");
      const auth = Buffer.from(`${user.username}:${user.password}`).toString("base64");
      await writeFile(
        withAuth,
        JSON.stringify({ auths: { [`http://${registry.host}/v2/`]: { auth } } }),
      );
      expect(await client({ registry: registry.url, dockerConfig: withAuth }).ping()).toEqual({
        apiVersion: "registry/2.0",
      });

      const withStore = { credsStore: "secretservice", auths: { [registry.host]: {} } };
      const error = await errorOf(
        client({ registry: registry.url, dockerConfig: withStore }).ping(),
      );
      expect(RegistryClientError.isInstance(error) && error.code).toBe(
        "CREDENTIAL_HELPER_UNSUPPORTED",
      );
      expect((error as Error).message).toContain("docker-credential-secretservice");
    } finally {
      await removeTempDirectory(directory);
    }
  });
});

describe("registry client against docker-registry with token auth", () => {
  let registry: UpstreamRegistry;
  let image: TestImage;
  const writer = { username: "writer", password: "writer-secret-password" };
  const reader = { username: "reader", password: "reader-secret-password" };
  const outsider = { username: "outsider", password: "outsider-secret-password" };

  beforeAll(async () => {
    registry = await startUpstreamRegistry({
      auth: "token",
      users: [
        { ...writer, repositories: { "*": ["pull", "push"] } },
        { ...reader, repositories: { "team/app": ["pull"] } },
        { ...outsider, repositories: {} },
      ],
      anonymousRepositories: { "public/app": ["pull"] },
    });
    image = await buildTestImage({ seed: "client-token", layers: [1024, 4096] });
    const seeding = client({ registry: registry.url, credentials: writer });
    await pushImageWithClient(seeding, "team/app", image);
    await pushImageWithClient(seeding, "public/app", image);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("pulls anonymously where anonymous pull is granted, and is refused elsewhere", async () => {
    const anonymous = client({ registry: registry.url });
    const manifest = await anonymous.getManifest("public/app", image.tag);
    expect(manifest.bytes.equals(image.bytes)).toBe(true);
    const error = await errorOf(anonymous.getManifest("team/app", image.tag));
    expect(RegistryError.isInstance(error) && error.code).toBe("UNAUTHORIZED");
  });

  it("pulls with a read-only user, whose push is refused", async () => {
    const readOnly = client({ registry: registry.url, credentials: reader });
    const layer = image.manifests[0]?.layerDigests[0] as string;
    const download = await readOnly.getBlob("team/app", layer);
    const chunks: Buffer[] = [];
    for await (const chunk of download.stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(image.blobs.get(layer) as Buffer)).toBe(true);

    const error = await errorOf(readOnly.pushBlob("team/app", Buffer.from("not allowed")));
    expect(RegistryError.isInstance(error) && ["UNAUTHORIZED", "DENIED"].includes(error.code)).toBe(
      true,
    );
  });

  it("refuses a user without rights with UNAUTHORIZED or DENIED", async () => {
    const error = await errorOf(
      client({ registry: registry.url, credentials: outsider }).headManifest("team/app", image.tag),
    );
    expect(RegistryError.isInstance(error) && ["UNAUTHORIZED", "DENIED"].includes(error.code)).toBe(
      true,
    );
  });

  it("reports refused credentials from the token service without quoting them", async () => {
    const logger = recordingLogger();
    const wrong = client({
      registry: registry.url,
      credentials: { username: writer.username, password: "not-the-secret-password" },
      logger,
    });
    const error = await errorOf(wrong.getManifest("team/app", image.tag));
    expect(RegistryError.isInstance(error) && error.code).toBe("UNAUTHORIZED");
    expect(describeError(error)).not.toContain("not-the-secret-password");
    expect(logger.text()).not.toContain("not-the-secret-password");
  });

  it("asks for one token per scope and reuses it while it is valid", async () => {
    const logger = recordingLogger();
    const authorized = client({ registry: registry.url, credentials: writer, logger });
    const issuer = registry.tokenIssuer;
    if (!issuer) throw new Error("token registry without issuer");
    const before = issuer.issuedTokenCount();
    await authorized.headManifest("team/app", image.tag);
    await authorized.getManifest("team/app", image.tag);
    await authorized.headManifest("team/app", image.digest);
    const afterOneRepository = issuer.issuedTokenCount();
    // The first request is anonymous and learns the realm; then one token serves all three.
    expect(afterOneRepository - before).toBe(1);
    await authorized.headManifest("public/app", image.tag);
    expect(issuer.issuedTokenCount() - afterOneRepository).toBe(1);

    const text = logger.text();
    expect(text).not.toContain(writer.password);
    expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+/); // no JWT
    expect(text).not.toMatch(/Bearer\s+\S/);
  });

  it("pings with credentials through the token flow", async () => {
    expect(await client({ registry: registry.url, credentials: reader }).ping()).toEqual({
      apiVersion: "registry/2.0",
    });
  });
});
