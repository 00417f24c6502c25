// What is inside the built images, per platform, read from the layers themselves: the arm64
// image is checked here structurally (it is not run on this machine).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BuiltImage,
  type ImageName,
  type ImagePlatform,
  imageDefinitions,
  imageNames,
  imagePlatforms,
  nodePath,
  platformNames,
} from "../src/index.js";
import type { LayerEntry } from "../src/tar/layer-entry.js";
import { filesOf, imagesUnderTest, imageUnderTest, json, platformOf } from "./images-under-test.js";

interface ImageConfig {
  architecture: string;
  os: string;
  config: {
    User: string;
    Entrypoint: string[];
    Cmd: string[];
    Env: string[];
    WorkingDir: string;
    ExposedPorts: Record<string, unknown>;
    Labels: Record<string, string>;
  };
  rootfs: { diff_ids: string[] };
}

interface Index {
  mediaType: string;
  manifests: { digest: string; platform: { architecture: string; os: string } }[];
}

/** ELF header: magic, 64-bit class, little-endian, and e_machine at byte 18. */
function elfMachine(bytes: Buffer): number | undefined {
  if (bytes.subarray(0, 4).toString("latin1") !== "\x7fELF" || bytes[4] !== 2 || bytes[5] !== 1) {
    return undefined;
  }
  return bytes.readUInt16LE(18);
}

describe("the image index", () => {
  it.each(imageNames)(
    "%s: one OCI index with linux/amd64 and linux/arm64, each config naming its platform",
    async (name) => {
      const image = await imageUnderTest(name);
      const index = json<Index>(image.index.bytes);
      expect(index.mediaType).toBe("application/vnd.oci.image.index.v1+json");
      expect(index.manifests.map((entry) => entry.platform)).toEqual([
        { architecture: "amd64", os: "linux" },
        { architecture: "arm64", os: "linux" },
      ]);
      for (const platform of imagePlatforms) {
        const built = platformOf(image, platform);
        expect(index.manifests.map((entry) => entry.digest)).toContain(built.manifest.digest);
        const config = json<ImageConfig>(built.config.bytes);
        expect([config.os, config.architecture]).toEqual([
          "linux",
          platformNames[platform].architecture,
        ]);
      }
    },
  );

  it.each(imageNames)(
    "%s: runs node on the bundle as 65532:65532, with OCI labels naming source, revision and version",
    async (name) => {
      const { images, source } = await imagesUnderTest();
      const image = images.find((candidate) => candidate.name === name) as BuiltImage;
      const definition = imageDefinitions[name];
      const config = json<ImageConfig>(platformOf(image, "linux/amd64").config.bytes).config;
      expect(config.User).toBe("65532:65532");
      expect(config.Entrypoint).toEqual([nodePath, `${definition.installDirectory}/main.js`]);
      expect(config.Cmd).toEqual(definition.defaultArguments);
      expect(config.Env).toContain("NODE_ENV=production");
      expect(Object.keys(config.ExposedPorts)).toEqual(definition.exposedPorts);
      expect(config.Labels).toMatchObject({
        "org.opencontainers.image.source": "https://github.com/regmirror/regmirror",
        "org.opencontainers.image.version": source.version,
        // The commit; "-dirty" when built from a working tree with changes.
        "org.opencontainers.image.revision": expect.stringMatching(/^[0-9a-f]{40}(-dirty)?$/),
        "org.opencontainers.image.licenses": "Apache-2.0",
      });
    },
  );

  it.each(imageNames)("%s: under 70 MB compressed on each platform", async (name) => {
    const image = await imageUnderTest(name);
    for (const platform of image.platforms) {
      expect(platform.compressedSize, platform.platform).toBeLessThan(70_000_000);
    }
  });
});

const forbiddenPrograms =
  /(^|\/)(sh|bash|dash|ash|busybox|apt|apt-get|dpkg|npm|npx|corepack|gcc|cc|ld|perl|python3?)$/;

describe.each(
  imageNames.flatMap((name) =>
    imagePlatforms.map((platform) => [name, platform] as [ImageName, ImagePlatform]),
  ),
)("%s for %s", (name, platform) => {
  let files: LayerEntry[] = [];
  const byPath = () => new Map(files.map((entry) => [entry.path, entry]));
  beforeAll(async () => {
    files = await filesOf(await imageUnderTest(name), platform);
  });
  afterAll(() => {
    files = []; // Node's binary is 150 MB: let it go before the next platform
  });

  it("holds Node built for this platform, its dynamic loader and the libraries it links", () => {
    const names = platformNames[platform];
    const paths = byPath();
    const node = paths.get(nodePath.slice(1));
    expect(node?.mode).toBe(0o755);
    expect(elfMachine(node?.content ?? Buffer.alloc(0))).toBe(names.elfMachine);
    expect(paths.has(names.dynamicLoader)).toBe(true);
    for (const library of [
      "libc.so.6",
      "libm.so.6",
      "libgcc_s.so.1",
      "libstdc++.so.6",
      "libatomic.so.1",
    ]) {
      const found = [...paths.keys()].some((path) =>
        new RegExp(`^(usr/)?lib/${names.multiarchTriplet}/${library.replace(/\+/g, "\\+")}$`).test(
          path,
        ),
      );
      expect(found, library).toBe(true);
    }
    // Shared objects of the other architecture would mean the wrong packages went in.
    for (const entry of files) {
      if (entry.type === "file" && /\.so(\.|$)/.test(entry.path)) {
        expect(elfMachine(entry.content ?? Buffer.alloc(0)), entry.path).toBe(names.elfMachine);
      }
    }
  });

  it("holds no shell, no package manager and no other program than node", () => {
    expect(
      files
        .filter((entry) => entry.type !== "directory" && forbiddenPrograms.test(entry.path))
        .map((entry) => entry.path),
    ).toEqual([]);
    const directories = new Set(files.map((entry) => entry.path.split("/").slice(0, 2).join("/")));
    for (const programDirectory of ["bin", "sbin", "usr/bin", "usr/sbin"]) {
      expect(directories.has(programDirectory), programDirectory).toBe(false);
    }
    const executables = files.filter(
      (entry) =>
        entry.type === "file" && (entry.mode & 0o111) !== 0 && !/\.so(\.\d+)*$/.test(entry.path),
    );
    expect(executables.map((entry) => entry.path)).toEqual([nodePath.slice(1)]);
  });

  it("has CA certificates, a nonroot user and a dpkg status for every Debian package", async () => {
    const paths = byPath();
    const bundle = paths.get("etc/ssl/certs/ca-certificates.crt")?.content?.toString("utf8") ?? "";
    expect(bundle.match(/BEGIN CERTIFICATE/g)?.length).toBeGreaterThan(100);
    expect(paths.get("etc/passwd")?.content?.toString()).toContain("nonroot:x:65532:65532:");
    const inputs = (await imagesUnderTest()).inputs.find((entry) => entry.platform === platform);
    for (const deb of inputs?.debianPackages ?? []) {
      const status = paths.get(`var/lib/dpkg/status.d/${deb.name}`)?.content?.toString("utf8");
      expect(status, deb.name).toContain(`Version: ${deb.version}`);
    }
  });

  it("is owned by root except the unprivileged user's directories", async () => {
    const owned = files
      .filter((entry) => entry.uid !== 0 || entry.gid !== 0)
      .map((entry) => [entry.path, entry.uid, entry.gid]);
    const writable = [
      "home/nonroot",
      ...imageDefinitions[name].directories.map((entry) => entry.path),
    ];
    expect(owned.sort()).toEqual(writable.sort().map((path) => [path, 65532, 65532]));
    expect(byPath().get("tmp")?.mode).toBe(0o1777);
  });

  it("holds the app's bundle as an ES module", () => {
    const directory = imageDefinitions[name].installDirectory.slice(1);
    const paths = byPath();
    // main.js may be a small entry that loads the rest as chunks (the cache checks the Node
    // version before it imports anything): the bundle is every JavaScript file beside it.
    expect(paths.has(`${directory}/main.js`)).toBe(true);
    const bundleBytes = [...paths.entries()]
      .filter(([path]) => path.startsWith(`${directory}/`) && path.endsWith(".js"))
      .reduce((total, [, entry]) => total + (entry.content?.length ?? 0), 0);
    expect(bundleBytes).toBeGreaterThan(100_000);
    expect(
      json(paths.get(`${directory}/package.json`)?.content ?? Buffer.from("{}")),
    ).toMatchObject({ type: "module" });
    expect([...paths.keys()].filter((path) => path.includes("node_modules"))).toEqual([]);
  });
});
