// Tests of turning a registry name into its base URL.
import { describe, expect, it } from "vitest";
import { resolveRegistry } from "./registry-url.js";

describe("resolveRegistry", () => {
  it("maps hosts to base URLs: https, http for loopback, Docker Hub's API host", () => {
    expect(resolveRegistry("ghcr.io").baseUrl.href).toBe("https://ghcr.io/");
    expect(resolveRegistry("reg.example:5000").baseUrl.href).toBe("https://reg.example:5000/");
    expect(resolveRegistry("127.0.0.1:5000").baseUrl.href).toBe("http://127.0.0.1:5000/");
    expect(resolveRegistry("localhost").baseUrl.href).toBe("http://localhost/");
    expect(resolveRegistry("docker.io")).toEqual({
      baseUrl: new URL("https://registry-1.docker.io/"),
      credentialsKey: "docker.io",
    });
  });

  it("takes URLs as they are, with or without a trailing slash", () => {
    expect(resolveRegistry("https://127.0.0.1:5443").baseUrl.href).toBe("https://127.0.0.1:5443/");
    expect(resolveRegistry("http://Reg.example:8080/").credentialsKey).toBe("reg.example:8080");
  });

  it("says what is wrong with an unusable registry", () => {
    expect(() => resolveRegistry("")).toThrow(/expected a URL or a host/);
    expect(() => resolveRegistry("ftp://reg.example")).toThrow(/only http and https/);
    expect(() => resolveRegistry("https://reg.example/v2/")).toThrow(/drop the path/);
    expect(() => resolveRegistry("https://user:secret@reg.example")).toThrow(/credentials/);
    expect(() => resolveRegistry("https://user:secret@reg.example")).not.toThrow(/secret/);
    expect(() => resolveRegistry("reg.example/library")).toThrow(/must not contain/);
  });
});
