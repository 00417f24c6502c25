// The ownership record: every file and hosts block regmirror wrote, with hashes and backups.
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { OwnershipRecordError } from "./errors.js";
import { writeFileAtomically } from "./node-file-system.js";
import { nodePathProblem } from "./validation.js";

const nodePath = z.string().refine((value) => nodePathProblem(value) === undefined, {
  message: "must be an absolute path without . or .. segments",
});
const hexDigest = z.string().regex(/^[0-9a-f]{64}$/);

const BackupSchema = z.object({
  /** Node path of the copy of the file that was there before regmirror took it over. */
  file: nodePath,
  sha256: hexDigest,
  mode: z.number().int(),
  uid: z.number().int(),
  gid: z.number().int(),
});

const OwnedFileSchema = z.object({
  path: nodePath,
  /** Hash of the content regmirror last wrote; any other content means someone edited it. */
  sha256: hexDigest,
  backup: BackupSchema.optional(),
});

const OwnedHostsBlockSchema = z.object({
  path: nodePath,
  sha256: hexDigest,
  /** A line break was added before the block because the file's last line had none. */
  separatorAdded: z.boolean(),
  /** The hosts file did not exist before; it is deleted when only the block was in it. */
  createdFile: z.boolean(),
});

const OwnershipRecordSchema = z.object({
  version: z.literal(1),
  files: z.array(OwnedFileSchema),
  hostsBlocks: z.array(OwnedHostsBlockSchema),
  /** Directories regmirror created, removed again when empty and no longer needed. */
  createdDirectories: z.array(nodePath),
});

export type BackupRecord = z.infer<typeof BackupSchema>;
export type OwnedFile = z.infer<typeof OwnedFileSchema>;
export type OwnedHostsBlock = z.infer<typeof OwnedHostsBlockSchema>;
export type OwnershipRecord = z.infer<typeof OwnershipRecordSchema>;

export function emptyOwnershipRecord(): OwnershipRecord {
  return { version: 1, files: [], hostsBlocks: [], createdDirectories: [] };
}

export function isEmptyOwnershipRecord(record: OwnershipRecord): boolean {
  return (
    record.files.length === 0 &&
    record.hostsBlocks.length === 0 &&
    record.createdDirectories.length === 0
  );
}

/** Reads the record; undefined when there is none. A damaged record stops everything. */
export async function readOwnershipRecord(
  path: string,
  nodePathForMessages: string,
): Promise<OwnershipRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new OwnershipRecordError(nodePathForMessages, (error as Error).message, {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new OwnershipRecordError(nodePathForMessages, "not valid JSON", { cause: error });
  }
  const result = OwnershipRecordSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.join(".") || "(root)";
    throw new OwnershipRecordError(nodePathForMessages, `${where}: ${issue?.message}`);
  }
  return result.data;
}

export async function writeOwnershipRecord(path: string, record: OwnershipRecord): Promise<void> {
  await writeFileAtomically(path, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });
}
