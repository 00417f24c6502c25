import type { StoredManifest } from "@regmirror/oci-distribution";
import { describe, expect, it } from "vitest";
import { ContentMemory } from "./content-memory.js";

const manifest = (name: string, size: number) => ({
  digest: `sha256:${name.padEnd(64, "0")}`,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  bytes: new Uint8Array(size),
});

describe("ContentMemory", () => {
  it("keeps manifests up to its byte bound, dropping the least recently used first", () => {
    const memory = new ContentMemory<StoredManifest>(1000);
    const [a, b, c] = [manifest("a", 400), manifest("b", 400), manifest("c", 400)];
    memory.remember(a);
    memory.remember(b);
    expect(memory.get(a.digest)).toBe(a); // a is now more recent than b
    memory.remember(c);
    expect(memory.get(b.digest)).toBeUndefined();
    expect(memory.get(a.digest)).toBe(a);
    expect(memory.get(c.digest)).toBe(c);
    expect(memory.bytes).toBe(800);
  });

  it("never keeps a manifest larger than the bound, and counts a re-remembered one once", () => {
    const memory = new ContentMemory<StoredManifest>(1000);
    memory.remember(manifest("huge", 1001));
    expect(memory.bytes).toBe(0);
    const a = manifest("a", 300);
    memory.remember(a);
    memory.remember(a);
    expect(memory.bytes).toBe(300);
    memory.forget(a.digest);
    memory.forget(a.digest);
    expect(memory.bytes).toBe(0);
    expect(memory.get(a.digest)).toBeUndefined();
  });
});
