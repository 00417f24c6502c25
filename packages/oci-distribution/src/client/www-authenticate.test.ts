// Tests of parsing WWW-Authenticate challenges.
import { describe, expect, it } from "vitest";
import { parseWwwAuthenticate } from "./www-authenticate.js";

describe("parseWwwAuthenticate", () => {
  it("reads a Docker Bearer challenge with a scope that contains commas", () => {
    const header =
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push"';
    expect(parseWwwAuthenticate(header)).toEqual([
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/nginx:pull,push",
        },
      },
    ]);
  });

  it("splits several challenges in one header and keeps quoted commas and escapes", () => {
    const header =
      'Basic realm="a, \\"quoted\\" realm", Bearer realm=https://t.example/token , service=reg,error="insufficient_scope"';
    expect(parseWwwAuthenticate(header)).toEqual([
      { scheme: "basic", params: { realm: 'a, "quoted" realm' } },
      {
        scheme: "bearer",
        params: { realm: "https://t.example/token", service: "reg", error: "insufficient_scope" },
      },
    ]);
  });

  it("reads token68 challenges, bare schemes and several header lines", () => {
    expect(parseWwwAuthenticate(["Negotiate abc+/==, Basic", 'NTLM, Bearer realm = "r"'])).toEqual([
      { scheme: "negotiate", params: {}, token68: "abc+/==" },
      { scheme: "basic", params: {} },
      { scheme: "ntlm", params: {} },
      { scheme: "bearer", params: { realm: "r" } },
    ]);
  });

  it("lower-cases scheme and parameter names but not values", () => {
    expect(parseWwwAuthenticate('BEARER Realm="https://X/Token"')).toEqual([
      { scheme: "bearer", params: { realm: "https://X/Token" } },
    ]);
  });

  it("survives garbage without throwing", () => {
    for (const header of ["", ",,,", '"', "=", 'Bearer realm="unterminated', "Bearer ,=,=x"]) {
      expect(() => parseWwwAuthenticate(header)).not.toThrow();
    }
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
    expect(parseWwwAuthenticate('Bearer realm="unterminated')[0]?.params.realm).toBe(
      "unterminated",
    );
  });
});
