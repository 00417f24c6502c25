// One apply or remove: files and blocks reconciled against the ownership record.
import { mkdir, readFile, rmdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Logger } from "@regmirror/core";
import { NodeFileWriteError } from "./errors.js";
import {
  readCurrentFile,
  removeFileDurably,
  sha256,
  writeFileAtomically,
} from "./node-file-system.js";
import type { OwnedFile, OwnedHostsBlock, OwnershipRecord } from "./ownership-record.js";
import { findHostsBlock, removeHostsBlock, upsertHostsBlock } from "./render-hosts-block.js";
import type { RenderedFile } from "./rendered-file.js";

export type NodeFileAction =
  | "created"
  | "updated"
  | "unchanged"
  | "taken-over"
  | "removed"
  | "restored"
  | "conflict"
  | "kept"
  | "handed-over";

/** What happened to one path (node-absolute, without the mount root). */
export interface NodeFileOutcome {
  path: string;
  action: NodeFileAction;
  reason?: string;
}

const notWrittenByRegmirror =
  "exists and was not written by regmirror (apply with takeOver to back it up and replace it)";
const editedSinceWritten = "was changed since regmirror wrote it; left alone";

/**
 * One apply or remove: reads and updates the ownership record in memory while it changes
 * files under the root. The caller persists the record afterwards, also after a failure.
 */
export class OwnershipSession {
  readonly outcomes: NodeFileOutcome[] = [];

  constructor(
    private readonly root: string,
    readonly record: OwnershipRecord,
    private readonly backupDirectory: string,
    private readonly logger: Logger,
    /** Writes the record now; used before a step a crash must not make it forget. */
    private readonly persistRecord: () => Promise<void>,
    /** Names this applier's hosts block; undefined: the unnamed block. */
    private readonly instance?: string,
  ) {}

  private onDisk(nodePath: string): string {
    return join(this.root, nodePath);
  }

  private report(outcome: NodeFileOutcome): void {
    if (outcome.reason === undefined) delete outcome.reason;
    this.outcomes.push(outcome);
    if (outcome.action === "unchanged") return;
    const fields = { path: outcome.path, action: outcome.action, reason: outcome.reason };
    if (outcome.action === "conflict" || outcome.action === "kept") {
      this.logger.warn(fields, `node file ${outcome.action}`);
    } else {
      this.logger.info(fields, `node file ${outcome.action}`);
    }
  }

  private async guarded<T>(nodePath: string, operation: string, action: () => Promise<T>) {
    try {
      return await action();
    } catch (error) {
      throw new NodeFileWriteError(nodePath, operation, { cause: error });
    }
  }

  /** Creates the missing directories above a file, remembering each one it made. */
  async ensureParentDirectory(nodePath: string): Promise<void> {
    const missing: string[] = [];
    for (let directory = dirname(nodePath); directory !== "/"; directory = dirname(directory)) {
      const current = await readCurrentFile(this.onDisk(directory)).catch(() => undefined);
      if (current?.kind !== "missing") break;
      missing.unshift(directory);
    }
    for (const directory of missing) {
      await this.guarded(directory, "create directory", () =>
        mkdir(this.onDisk(directory), { mode: 0o755 }),
      );
      if (!this.record.createdDirectories.includes(directory)) {
        this.record.createdDirectories.push(directory);
      }
    }
  }

  private async write(file: RenderedFile): Promise<void> {
    await this.ensureParentDirectory(file.path);
    await this.guarded(file.path, "write", () =>
      writeFileAtomically(this.onDisk(file.path), file.content, { mode: file.mode }),
    );
  }

  /** Makes one whole file match the desired content, if regmirror may touch it. */
  async reconcileFile(file: RenderedFile, takeOver: boolean): Promise<void> {
    const desiredHash = sha256(file.content);
    const owned = this.record.files.find((entry) => entry.path === file.path);
    const current = await readCurrentFile(this.onDisk(file.path));
    if (current.kind === "not-a-file") {
      this.report({ path: file.path, action: "conflict", reason: current.description });
      return;
    }
    if (owned) {
      if (current.kind === "missing") {
        await this.write(file);
        owned.sha256 = desiredHash;
        this.report({ path: file.path, action: "created", reason: "was deleted; written again" });
      } else if (current.sha256 === desiredHash) {
        owned.sha256 = desiredHash;
        this.report({ path: file.path, action: "unchanged" });
      } else if (current.sha256 === owned.sha256 || takeOver) {
        const reason =
          current.sha256 === owned.sha256 ? undefined : "local edit overwritten (takeOver)";
        await this.write(file);
        owned.sha256 = desiredHash;
        this.report({ path: file.path, action: "updated", reason });
      } else {
        this.report({ path: file.path, action: "conflict", reason: editedSinceWritten });
      }
      return;
    }
    if (current.kind === "missing") {
      await this.write(file);
      this.record.files.push({ path: file.path, sha256: desiredHash });
      this.report({ path: file.path, action: "created" });
    } else if (current.sha256 === desiredHash) {
      // Byte-identical to what regmirror writes, managed header included: regmirror wrote it
      // (its record was lost). Adopted without a backup, so removal deletes it.
      this.record.files.push({ path: file.path, sha256: desiredHash });
      this.report({
        path: file.path,
        action: "unchanged",
        reason: "adopted: identical to regmirror's content",
      });
    } else if (takeOver) {
      const backupFile = `${this.backupDirectory}/${sha256(file.path).slice(0, 16)}-${basename(file.path)}`;
      await this.ensureParentDirectory(backupFile);
      await this.guarded(backupFile, "back up to", () =>
        writeFileAtomically(this.onDisk(backupFile), current.content, { mode: 0o600 }),
      );
      const backup = {
        file: backupFile,
        sha256: current.sha256,
        mode: current.mode,
        uid: current.uid,
        gid: current.gid,
      };
      // Recorded (and persisted) before the write, so a crash in between cannot lose track of
      // where the original is.
      this.record.files.push({ path: file.path, sha256: current.sha256, backup });
      await this.persistRecord();
      await this.write(file);
      const entry = this.record.files.at(-1) as OwnedFile;
      entry.sha256 = desiredHash;
      this.report({
        path: file.path,
        action: "taken-over",
        reason: `original kept in ${backupFile}`,
      });
    } else {
      this.report({ path: file.path, action: "conflict", reason: notWrittenByRegmirror });
    }
  }

  /** Removes a file regmirror wrote, or puts the original back. Leaves an edited file alone. */
  async releaseFile(owned: OwnedFile, force: boolean): Promise<void> {
    const current = await readCurrentFile(this.onDisk(owned.path));
    if (current.kind === "not-a-file" && !force) {
      this.report({
        path: owned.path,
        action: "kept",
        reason: `${current.description} now; left alone`,
      });
      return;
    }
    if (current.kind === "file" && current.sha256 !== owned.sha256 && !force) {
      this.report({ path: owned.path, action: "kept", reason: editedSinceWritten });
      return;
    }
    if (owned.backup) {
      const backup = owned.backup;
      const original = await this.guarded(backup.file, "read backup", () =>
        readFile(this.onDisk(backup.file)),
      );
      if (sha256(original) !== backup.sha256) {
        this.report({
          path: owned.path,
          action: "kept",
          reason: `backup ${backup.file} is damaged`,
        });
        return;
      }
      if (current.kind === "not-a-file") {
        await this.guarded(owned.path, "remove", () => removeFileDurably(this.onDisk(owned.path)));
      }
      await this.ensureParentDirectory(owned.path);
      await this.guarded(owned.path, "restore", () =>
        writeFileAtomically(this.onDisk(owned.path), original, backup),
      );
      await this.guarded(backup.file, "remove backup", () =>
        removeFileDurably(this.onDisk(backup.file)),
      );
      this.report({ path: owned.path, action: "restored" });
    } else {
      if (current.kind !== "missing") {
        await this.guarded(owned.path, "remove", () => removeFileDurably(this.onDisk(owned.path)));
      }
      this.report({ path: owned.path, action: "removed" });
    }
    this.record.files = this.record.files.filter((entry) => entry !== owned);
  }

  /** Puts the marked block into the hosts file, keeping every other byte of it. */
  async reconcileHostsBlock(path: string, block: string, takeOver: boolean): Promise<void> {
    const owned = this.record.hostsBlocks.find((entry) => entry.path === path);
    const current = await readCurrentFile(this.onDisk(path));
    if (current.kind === "not-a-file") {
      this.report({ path, action: "conflict", reason: current.description });
      return;
    }
    const text = current.kind === "file" ? current.content.toString("utf8") : "";
    const existing = findHostsBlock(text, this.instance);
    const existingHash = existing ? sha256(existing.text) : undefined;
    const desiredHash = sha256(block);
    if (existing && existingHash !== desiredHash && existingHash !== owned?.sha256 && !takeOver) {
      const reason = owned
        ? "the regmirror block was edited; left alone"
        : "has a regmirror block regmirror did not record; left alone";
      this.report({ path, action: "conflict", reason });
      return;
    }
    const { content, separatorAdded } = upsertHostsBlock(text, block, this.instance);
    const entry: OwnedHostsBlock = owned ?? {
      path,
      sha256: desiredHash,
      separatorAdded: false,
      createdFile: current.kind === "missing",
    };
    if (!existing) entry.separatorAdded = separatorAdded;
    entry.sha256 = desiredHash;
    if (!owned) this.record.hostsBlocks.push(entry);
    if (current.kind === "file" && content === text) {
      this.report({ path, action: "unchanged" });
      return;
    }
    if (current.kind === "missing") await this.ensureParentDirectory(path);
    const keep = current.kind === "file" ? current : { mode: 0o644 };
    await this.guarded(path, "write", () => writeFileAtomically(this.onDisk(path), content, keep));
    // "created" only for a file that was not there; a block put into an existing file updates it.
    if (current.kind === "missing") this.report({ path, action: "created" });
    else
      this.report({
        path,
        action: "updated",
        reason: existing ? undefined : "added the regmirror block",
      });
  }

  /** Takes the block out again; the rest of the file is left byte for byte as it is. */
  async releaseHostsBlock(owned: OwnedHostsBlock, force: boolean): Promise<void> {
    const current = await readCurrentFile(this.onDisk(owned.path));
    const text = current.kind === "file" ? current.content.toString("utf8") : "";
    const existing = findHostsBlock(text, this.instance);
    if (current.kind === "file" && existing) {
      if (sha256(existing.text) !== owned.sha256 && !force) {
        this.report({
          path: owned.path,
          action: "kept",
          reason: "the regmirror block was edited; left alone",
        });
        return;
      }
      const content = removeHostsBlock(text, owned.separatorAdded, this.instance);
      if (owned.createdFile && content === "") {
        await this.guarded(owned.path, "remove", () => removeFileDurably(this.onDisk(owned.path)));
        this.report({ path: owned.path, action: "removed" });
      } else {
        await this.guarded(owned.path, "write", () =>
          writeFileAtomically(this.onDisk(owned.path), content, current),
        );
        // The file stays: only the block inside it went.
        this.report({ path: owned.path, action: "updated", reason: "removed the regmirror block" });
      }
    } else {
      this.report({
        path: owned.path,
        action: "unchanged",
        reason: "the regmirror block was already gone",
      });
    }
    this.record.hostsBlocks = this.record.hostsBlocks.filter((entry) => entry !== owned);
  }

  /**
   * Removes the directories regmirror created that nothing it owns needs any more, deepest
   * first. A directory someone else put files in stays, and regmirror forgets it.
   */
  async pruneDirectories(stillNeeded: readonly string[]): Promise<void> {
    const needed = (directory: string) =>
      stillNeeded.some((path) => path.startsWith(`${directory}/`));
    const candidates = [...this.record.createdDirectories]
      .filter((directory) => !needed(directory))
      .sort((a, b) => b.length - a.length);
    for (const directory of candidates) {
      try {
        await rmdir(this.onDisk(directory));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOTEMPTY" || code === "EEXIST") {
          this.report({
            path: directory,
            action: "handed-over",
            reason: "directory holds files regmirror did not write; left in place and forgotten",
          });
        } else if (code !== "ENOENT") {
          throw new NodeFileWriteError(directory, "remove directory", { cause: error });
        }
      }
      this.record.createdDirectories = this.record.createdDirectories.filter(
        (entry) => entry !== directory,
      );
    }
  }
}
