// Tests of the client against the package's own registry server.
import { computeDigest } from "@regmirror/core";
import { buildTestImage, stopAll, type TestImage } from "@regmirror/test-kit";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, pushImageWithClient, recordRequests } from "../../test/client-test-support.js";
import { RegistryError } from "../model/errors.js";
import { OCI_EMPTY, OCI_MANIFEST } from "../model/media-types.js";
import { createExampleRegistry, type ExampleRegistry } from "../testing/index.js";
import { referrersTagFor } from "./referrers.js";
import { createRegistryClient, type RegistryClient } from "./registry-client.js";

// distribution 2.8 neither paginates tags nor serves the referrers API; this package's own
// registry (src/example) does both, so the client's side of them is checked here.
describe("registry client against the package's example registry", () => {
  let registry: ExampleRegistry;
  let agent: Agent;
  let client: RegistryClient;
  let image: TestImage;
  const sent: string[] = [];

  beforeAll(async () => {
    registry = await createExampleRegistry();
    agent = new Agent();
    client = createRegistryClient({
      registry: registry.url,
      dispatcher: agent.compose(recordRequests(sent)),
    });
    image = await buildTestImage({ seed: "client-example-registry" });
    await pushImageWithClient(client, "example/app", image);
  });
  afterAll(() => stopAll(client, agent, registry));

  it("lists more than 100 tags page by page along the Link header", async () => {
    const expected = [image.tag];
    for (let index = 0; index < 110; index += 1) {
      const tag = `v${String(index).padStart(3, "0")}`;
      await client.putManifest("example/app", tag, image.bytes);
      expected.push(tag);
    }
    expected.sort();
    sent.length = 0;
    expect(await collect(client.listTags("example/app", { pageSize: 25 }))).toEqual(expected);
    const pages = sent.filter((line) => line.startsWith("GET /v2/example/app/tags/list"));
    expect(pages).toHaveLength(Math.ceil(expected.length / 25));
    expect(pages[1]).toContain("last=");

    sent.length = 0;
    expect(await collect(client.listTags("example/app", { pageSize: 25, last: "v099" }))).toEqual(
      expected.filter((tag) => tag > "v099"),
    );
  });

  it("refuses options and blob content of the wrong kind with INVALID_OPTIONS, sending nothing", async () => {
    for (const options of [undefined, null, { registry: registry.url, retry: "often" }]) {
      expect(() => createRegistryClient(options as never)).toThrow(
        expect.objectContaining({ code: "INVALID_OPTIONS" }),
      );
    }
    sent.length = 0;
    for (const content of [5, null, "text"]) {
      await expect(client.pushBlob("example/app", content as never)).rejects.toMatchObject({
        code: "INVALID_OPTIONS",
      });
    }
    expect(sent).toEqual([]);
  });

  it("finds referrers through the referrers API when the registry indexes subjects", async () => {
    const emptyConfig = Buffer.from("{}");
    await client.pushBlob("example/app", emptyConfig);
    const artifact = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: "application/vnd.example.sbom",
        config: {
          mediaType: OCI_EMPTY,
          digest: computeDigest(emptyConfig),
          size: emptyConfig.length,
        },
        layers: [
          { mediaType: OCI_EMPTY, digest: computeDigest(emptyConfig), size: emptyConfig.length },
        ],
        subject: { mediaType: image.mediaType, digest: image.digest, size: image.bytes.length },
      }),
    );
    const pushed = await client.putManifest("example/app", computeDigest(artifact), artifact);
    expect(pushed.subjectDigest).toBe(image.digest);

    const referrers = await client.listReferrers("example/app", image.digest);
    expect(referrers.map((descriptor) => [descriptor.digest, descriptor.artifactType])).toEqual([
      [computeDigest(artifact), "application/vnd.example.sbom"],
    ]);
    expect(
      await client.listReferrers("example/app", image.digest, {
        artifactType: "application/other",
      }),
    ).toEqual([]);
    // The registry indexed the subject, so the client wrote no fallback tag.
    const error = await client
      .getManifest("example/app", referrersTagFor(image.digest))
      .catch((caught) => caught);
    expect(RegistryError.isInstance(error) && error.code).toBe("MANIFEST_UNKNOWN");
  });
});
