// Tests of parsing pagination Link headers.
import { describe, expect, it } from "vitest";
import { nextLinkUrl } from "./link-header.js";

describe("nextLinkUrl", () => {
  const base = new URL("http://127.0.0.1:5000/v2/_catalog?n=2");

  it("resolves distribution's relative next link", () => {
    expect(nextLinkUrl('</v2/_catalog?last=b&n=2>; rel="next"', base)?.href).toBe(
      "http://127.0.0.1:5000/v2/_catalog?last=b&n=2",
    );
  });

  it("picks rel=next among several links and relation lists", () => {
    const header =
      '<https://x.example/prev>; rel=prev, <https://x.example/a,b?n=1>; title="x, y"; rel="last next"';
    expect(nextLinkUrl(header, base)?.href).toBe("https://x.example/a,b?n=1");
  });

  it("returns undefined without a next link", () => {
    expect(nextLinkUrl(undefined, base)).toBeUndefined();
    expect(nextLinkUrl('</v2/_catalog?last=b>; rel="prev"', base)).toBeUndefined();
    expect(nextLinkUrl("garbage", base)).toBeUndefined();
  });
});
