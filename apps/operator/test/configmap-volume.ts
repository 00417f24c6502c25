import { mkdir, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

let generation = 0;

/**
 * Writes files the way the kubelet updates a mounted ConfigMap: a fresh `..<timestamp>`
 * directory, an atomic rename of the `..data` symlink onto it, and top-level symlinks
 * `<name> -> ..data/<name>`; the previous generation is deleted afterwards.
 */
export async function writeConfigMapVolume(
  directory: string,
  files: Record<string, string>,
): Promise<void> {
  generation += 1;
  const version = `..2026_11_22_00_00_00.${process.pid}_${generation}`;
  await mkdir(join(directory, version), { recursive: true });
  for (const [name, content] of Object.entries(files))
    await writeFile(join(directory, version, name), content);
  const previous = await readlink(join(directory, "..data")).catch(() => undefined);
  await symlink(version, join(directory, "..data_tmp"));
  await rename(join(directory, "..data_tmp"), join(directory, "..data"));
  for (const name of Object.keys(files)) {
    await symlink(join("..data", name), join(directory, name)).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code !== "EEXIST") throw error;
      },
    );
  }
  if (previous) await rm(join(directory, previous), { recursive: true, force: true });
}
