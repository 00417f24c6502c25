// image-inputs.lock.json: the exact Node tarballs and Debian packages the images are made of.
// Same lock, same sources, same SOURCE_DATE_EPOCH: same image digests.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { imagePlatforms } from "../platforms.js";

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { error: "a sha256 in hex" });

const lockedDebianPackage = z.strictObject({
  name: z.string().min(1),
  version: z.string().min(1),
  architecture: z.string().min(1),
  sha256: sha256Hex,
});

const lockedNodePackage = z.strictObject({
  package: z.string().min(1),
  /** The npm registry's `dist.integrity` of the tarball. */
  integrity: z.string().regex(/^sha512-[A-Za-z0-9+/]+=*$/, { error: "an sha512- integrity" }),
});

const platformRecord = <T extends z.ZodType>(value: T) =>
  z.strictObject({ "linux/amd64": value, "linux/arm64": value });

export const imageInputsLockSchema = z.strictObject({
  $comment: z.string().optional(),
  node: z.strictObject({
    version: z.string().regex(/^\d+\.\d+\.\d+$/),
    platforms: platformRecord(lockedNodePackage),
  }),
  debian: z.strictObject({
    /** The Debian release the shared libraries and CA certificates come from. */
    release: z.string().min(1),
    platforms: platformRecord(z.array(lockedDebianPackage)),
  }),
});

export type ImageInputsLock = z.output<typeof imageInputsLockSchema>;
export type LockedDebianPackage = z.output<typeof lockedDebianPackage>;

export const lockFileName = "image-inputs.lock.json";

export function lockFilePath(packageDirectory: string): string {
  return join(packageDirectory, lockFileName);
}

export async function readImageInputsLock(path: string): Promise<ImageInputsLock> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  const result = imageInputsLockSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join(".") || "(top)"}: ${issue.message}`,
    );
    throw new Error(`${path} is not a valid image inputs lock:\n  ${problems.join("\n  ")}`);
  }
  return result.data;
}

export async function writeImageInputsLock(path: string, lock: ImageInputsLock): Promise<void> {
  const ordered: ImageInputsLock = {
    $comment:
      "Written by `npm run image -- --update-lock`: the Node tarballs (npm) and Debian packages inside the images. Commit it.",
    node: lock.node,
    debian: {
      release: lock.debian.release,
      platforms: Object.fromEntries(
        imagePlatforms.map((platform) => [
          platform,
          [...lock.debian.platforms[platform]].sort((a, b) => a.name.localeCompare(b.name)),
        ]),
      ) as ImageInputsLock["debian"]["platforms"],
    },
  };
  await writeFile(path, `${JSON.stringify(ordered, null, 2)}\n`);
}
