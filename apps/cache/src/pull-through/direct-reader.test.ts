import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { DirectReader } from "./direct-reader.js";

const blob = Buffer.from("0123456789abcdefghij");

/** A download in three chunks that ends cleanly, or fails at its end (a digest mismatch). */
function download(failAtEnd = false): Readable {
  const chunks = [blob.subarray(0, 7), blob.subarray(7, 14), blob.subarray(14)];
  return Readable.from(
    (async function* () {
      yield* chunks;
      if (failAtEnd) throw new Error("content does not match its digest");
    })(),
  );
}

async function readAll(reader: DirectReader): Promise<{ bytes: Buffer; error?: Error }> {
  const parts: Buffer[] = [];
  const buffer = Buffer.alloc(4);
  try {
    for (let read = await reader.read(buffer); read > 0; read = await reader.read(buffer)) {
      parts.push(Buffer.from(buffer.subarray(0, read)));
    }
    return { bytes: Buffer.concat(parts) };
  } catch (error) {
    return { bytes: Buffer.concat(parts), error: error as Error };
  }
}

describe("DirectReader (in-memory downloads, one failing on purpose)", () => {
  it("passes a verified download through, whole or a range, counting every upstream byte", async () => {
    let counted = 0;
    const whole = await readAll(new DirectReader(download(), 0, 19, (bytes) => (counted += bytes)));
    expect(whole).toEqual({ bytes: blob });
    expect(counted).toBe(20);
    const range = await readAll(new DirectReader(download(), 5, 9, () => {}));
    expect(range.bytes.toString()).toBe("56789");
  });

  it("never hands out the last byte of a download that fails verification", async () => {
    const whole = await readAll(new DirectReader(download(true), 0, 19, () => {}));
    expect(whole.error?.message).toContain("does not match");
    expect(whole.bytes).toEqual(blob.subarray(0, 19));
    // A range ending early still waits for the whole download to verify.
    const range = await readAll(new DirectReader(download(true), 2, 4, () => {}));
    expect(range.error).toBeDefined();
    expect(range.bytes.toString()).toBe("23");
  });
});
