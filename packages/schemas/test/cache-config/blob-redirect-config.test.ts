// Blob redirects to presigned S3 URLs: distribution's storage.redirect and regmirror.storage.redirect.
import { describe, expect, test } from "vitest";
import { loadCacheConfigFromYaml } from "../../src/index.js";
import { problemsOf as problemsOfLoad } from "./load-fixture.js";

/** Where each problem is and what was expected there (the value is in the message too). */
const problemsOf = (yaml: string) =>
  problemsOfLoad(() => loadCacheConfigFromYaml(yaml)).map(({ path, expected }) => ({
    path,
    expected,
  }));

const distributionS3 = (extra: string) =>
  `version: 0.1\nproxy:\n  remoteurl: http://127.0.0.1:5000\nstorage:\n  s3:\n    bucket: layers\n    region: us-east-1\n${extra}`;
const nativeS3 = (redirect: string) =>
  `proxy:\n  remoteurl: http://127.0.0.1:5000\nregmirror:\n  storage:\n    s3: { bucket: layers }\n    redirect: ${redirect}\n`;

describe("blob redirects", () => {
  test("are off by default, also with distribution's S3 driver (which would redirect)", () => {
    expect(loadCacheConfigFromYaml(distributionS3("")).blobRedirect).toBeNull();
    expect(loadCacheConfigFromYaml(nativeS3("{}")).blobRedirect).toBeNull();
  });

  test("distribution's storage.redirect.disable: false turns them on, with the default expiry", () => {
    const config = loadCacheConfigFromYaml(distributionS3("  redirect:\n    disable: false\n"));
    expect(config.blobRedirect).toEqual({ expiryMs: 5 * 60_000 });
    expect(config.notices).toEqual([]);
    expect(
      loadCacheConfigFromYaml(distributionS3("  redirect:\n    disable: true\n")).blobRedirect,
    ).toBeNull();
  });

  test("regmirror.storage.redirect sets them on and their expiry", () => {
    expect(
      loadCacheConfigFromYaml(nativeS3("{ enabled: true, expiry: 90s }")).blobRedirect,
    ).toEqual({ expiryMs: 90_000 });
  });

  test.each([
    ["{ enabled: yes please }", "regmirror.storage.redirect.enabled", "true or false"],
    [
      "{ enabled: true, expiry: 8d }",
      "regmirror.storage.redirect.expiry",
      "a duration from 1s to 7d",
    ],
    ["{ enabled: true, expiry: 500ms }", "regmirror.storage.redirect.expiry", "from 1s to 7d"],
    ["{ expiry: 1m }", "regmirror.storage.redirect.expiry", "redirects turned on (enabled: true)"],
    ["{ enabled: true, after: 1m }", "regmirror.storage.redirect.after", ""],
  ])(
    "a bad regmirror.storage.redirect %s names %s and what was expected",
    (value, path, expected) => {
      expect(problemsOf(nativeS3(value))).toEqual([
        { path, expected: expect.stringContaining(expected) },
      ]);
    },
  );

  test("a key distribution's storage.redirect does not have is refused by name", () => {
    expect(problemsOf(distributionS3("  redirect:\n    disabled: false\n"))).toEqual([
      expect.objectContaining({ path: "storage.redirect.disabled" }),
    ]);
  });

  test("need S3 storage: a filesystem store has no URL to send clients to", () => {
    expect(
      problemsOf(
        "version: 0.1\nproxy:\n  remoteurl: http://127.0.0.1:5000\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n  redirect:\n    disable: false\n",
      ),
    ).toEqual([
      {
        path: "storage.redirect.disable",
        expected: expect.stringContaining("S3 storage for redirects"),
      },
    ]);
  });

  test("set in one place only", () => {
    const both = `${distributionS3("  redirect:\n    disable: false\n")}regmirror:\n  storage:\n    redirect: { enabled: true }\n`;
    expect(problemsOf(both)).toEqual([
      {
        path: "storage.redirect.disable",
        expected: expect.stringContaining("set in one place only"),
      },
    ]);
  });
});
