import { describe, expect, test } from "vitest";
import { formatByteSize, parseByteSize, parseListenAddress } from "../../src/index.js";

describe("sizes", () => {
  test.each([
    ["50GiB", 50 * 2 ** 30],
    ["10GB", 10e9],
    ["512MiB", 512 * 2 ** 20],
    ["1.5KiB", 1536],
    ["100 kB", 100_000],
    ["2TiB", 2 * 2 ** 40],
    ["4096", 4096],
    [4096, 4096],
  ])("%j is %i bytes", (text, bytes) => {
    expect(parseByteSize(text)).toBe(bytes);
  });

  test.each(["50G", "10gb", "ten GB", "-1GB", "", "1e3", 1.5, -1])("%j is not a size", (value) => {
    expect(parseByteSize(value)).toBeUndefined();
  });

  test("formatting uses binary units", () => {
    expect([512, 1536, 50 * 2 ** 30].map(formatByteSize)).toEqual(["512B", "1.5KiB", "50GiB"]);
  });
});

describe("listen addresses", () => {
  test.each([
    ["0.0.0.0:5000", { host: "0.0.0.0", port: 5000 }],
    [":5000", { host: "0.0.0.0", port: 5000 }],
    ["localhost:0", { host: "localhost", port: 0 }],
    ["[::1]:443", { host: "::1", port: 443 }],
  ])("%s", (text, address) => {
    expect(parseListenAddress(text)).toEqual(address);
  });

  test.each(["5000", "0.0.0.0", "host:70000", "::1:443", "host: 5000"])("%j is refused", (text) => {
    expect(parseListenAddress(text)).toBeUndefined();
  });
});
