// The applier: brings a node to the desired state and removes exactly what it wrote (ADR 0007).
import { readFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { type Logger, silentLogger } from "@regmirror/core";
import { type NodeTrustWarning, readContainerdRegistrySettings } from "./containerd-config.js";
import { InvalidNodeStateError, InvalidOptionsError, type NodeStateIssue } from "./errors.js";
import { removeFileDurably } from "./node-file-system.js";
import { type NodeTrustStateInput, parseNodeTrustState } from "./node-state.js";
import {
  emptyOwnershipRecord,
  isEmptyOwnershipRecord,
  type OwnershipRecord,
  readOwnershipRecord,
  writeOwnershipRecord,
} from "./ownership-record.js";
import { type NodeFileOutcome, OwnershipSession } from "./ownership-session.js";
import { planNodeFiles } from "./plan-node-files.js";
import { isValidDnsLabel, nodePathProblem } from "./validation.js";

/** Node-absolute locations; each is taken under the applier's root. */
export interface NodeTrustPaths {
  containerdConfigFile: string;
  /** Where hosts.toml files go; default: config_path's first directory, else /etc/containerd/certs.d. */
  containerdCertsDirectory?: string;
  dockerCertsDirectory: string;
  containersCertsDirectory: string;
  crioRegistriesDirectory: string;
  hostsFile: string;
  ownershipRecordFile: string;
  backupDirectory: string;
}

export const defaultNodeTrustPaths: Readonly<NodeTrustPaths> = Object.freeze({
  containerdConfigFile: "/etc/containerd/config.toml",
  dockerCertsDirectory: "/etc/docker/certs.d",
  containersCertsDirectory: "/etc/containers/certs.d",
  crioRegistriesDirectory: "/etc/containers/registries.conf.d",
  hostsFile: "/etc/hosts",
  ownershipRecordFile: "/var/lib/regmirror/node-trust-state.json",
  backupDirectory: "/var/lib/regmirror/node-trust-backups",
});

export interface NodeTrustApplierOptions {
  /** Where the node's file system is mounted: "/" on the node, e.g. "/host" in a DaemonSet. */
  root?: string;
  paths?: Partial<NodeTrustPaths>;
  /**
   * Names this applier when several share a node (one per mirror): a DNS label. It gets its own
   * ownership record (default /var/lib/regmirror/node-trust-<instance>.json), its own marked
   * block in the hosts file and its own CRI-O drop-in. Without it: the unnamed defaults.
   */
  instance?: string;
  logger?: Logger;
}

export interface NodeTrustApplyOptions {
  /** Back up and replace files regmirror did not write (or that were edited); restored on removal. */
  takeOver?: boolean;
}

export interface NodeTrustApplyResult {
  /** "conflict" when any file was left alone (see `conflicts`); the others were still applied. */
  status: "changed" | "unchanged" | "conflict";
  changed: boolean;
  files: NodeFileOutcome[];
  conflicts: NodeFileOutcome[];
  warnings: NodeTrustWarning[];
  /** Node path the containerd hosts.toml files went to, when containerd is configured. */
  containerdCertsDirectory?: string;
  /** Files (and hosts blocks) regmirror owns after this apply. */
  managedFiles: number;
}

export interface NodeTrustRemoveResult {
  /** "kept" when something was edited by someone and left in place (see `kept`). */
  status: "removed" | "nothing-to-remove" | "kept";
  files: NodeFileOutcome[];
  kept: NodeFileOutcome[];
}

export interface NodeTrustApplier {
  readonly root: string;
  /**
   * Brings the node to `state`. The state is checked again at run time (InvalidNodeStateError,
   * nothing written); for untrusted input such as parsed JSON, `parseNodeTrustState(json)` first.
   */
  apply(state: NodeTrustStateInput, options?: NodeTrustApplyOptions): Promise<NodeTrustApplyResult>;
  /** Deletes what regmirror wrote and restores backups; `force` also drops edited files. */
  remove(options?: { force?: boolean }): Promise<NodeTrustRemoveResult>;
  /** Node paths of the files regmirror owns now. */
  managedFiles(): Promise<string[]>;
}

const changingActions = new Set(["created", "updated", "taken-over", "removed", "restored"]);

function checkPaths(paths: NodeTrustPaths, where: string): NodeStateIssue[] {
  const issues: NodeStateIssue[] = [];
  for (const [key, value] of Object.entries(paths)) {
    if (value === undefined) continue;
    const problem = nodePathProblem(value);
    if (problem) issues.push({ path: `${where}.${key}`, message: problem });
  }
  return issues;
}

export function createNodeTrustApplier(
  givenOptions: NodeTrustApplierOptions = {},
): NodeTrustApplier {
  const options = givenOptions ?? {};
  const logger = options.logger ?? silentLogger;
  const rootOption = options.root ?? "/";
  if (typeof rootOption !== "string" || !isAbsolute(rootOption)) {
    throw new InvalidOptionsError([{ path: "root", message: `"${rootOption}" is not absolute` }]);
  }
  const root = resolve(rootOption);
  const instance = options.instance;
  if (instance !== undefined && (typeof instance !== "string" || !isValidDnsLabel(instance))) {
    throw new InvalidOptionsError([
      {
        path: "instance",
        message: `"${String(instance)}" is not a DNS label (lowercase letters, digits and inner hyphens, at most 63)`,
      },
    ]);
  }
  const paths: NodeTrustPaths = {
    ...defaultNodeTrustPaths,
    ...(instance === undefined
      ? {}
      : { ownershipRecordFile: `/var/lib/regmirror/node-trust-${instance}.json` }),
    ...options.paths,
  };
  const pathIssues = checkPaths(paths, "paths");
  if (pathIssues.length > 0) throw new InvalidOptionsError(pathIssues);
  const onDisk = (nodePath: string) => join(root, nodePath);
  const recordFile = paths.ownershipRecordFile;

  // apply and remove never overlap: each waits for the one before.
  let queue: Promise<unknown> = Promise.resolve();
  function serialised<T>(operation: () => Promise<T>): Promise<T> {
    const next = queue.then(operation, operation);
    queue = next.catch(() => undefined);
    return next;
  }

  async function loadRecord(): Promise<{ record: OwnershipRecord; existed: boolean }> {
    const record = await readOwnershipRecord(onDisk(recordFile), recordFile);
    return { record: record ?? emptyOwnershipRecord(), existed: record !== undefined };
  }

  /** Persists the record when it changed; an empty one is not left on a clean node. */
  async function saveRecord(session: OwnershipSession, before: string, existed: boolean) {
    const after = JSON.stringify(session.record);
    if (after === before) return;
    if (isEmptyOwnershipRecord(session.record) && !existed) return;
    await persist(session);
  }

  async function persist(session: OwnershipSession): Promise<void> {
    await session.ensureParentDirectory(recordFile);
    await writeOwnershipRecord(onDisk(recordFile), session.record);
  }

  function startSession(record: OwnershipRecord): OwnershipSession {
    const session: OwnershipSession = new OwnershipSession(
      root,
      record,
      paths.backupDirectory,
      logger,
      () => persist(session),
      instance,
    );
    return session;
  }

  async function containerdDirectory(warnings: NodeTrustWarning[]): Promise<string> {
    if (paths.containerdCertsDirectory) return paths.containerdCertsDirectory;
    let text: string | undefined;
    try {
      text = await readFile(onDisk(paths.containerdConfigFile), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const settings = readContainerdRegistrySettings(text, paths.containerdConfigFile);
    warnings.push(...settings.warnings);
    return settings.certsDirectory;
  }

  async function apply(
    input: NodeTrustStateInput,
    { takeOver = false }: NodeTrustApplyOptions = {},
  ): Promise<NodeTrustApplyResult> {
    const state = parseNodeTrustState(input);
    const warnings: NodeTrustWarning[] = [];
    const usesContainerd = state.runtimes.includes("containerd");
    const containerdCertsDirectory = usesContainerd
      ? await containerdDirectory(warnings)
      : undefined;
    const plan = planNodeFiles(state, {
      containerdCertsDirectory: containerdCertsDirectory ?? "/",
      dockerCertsDirectory: paths.dockerCertsDirectory,
      containersCertsDirectory: paths.containersCertsDirectory,
      crioRegistriesDirectory: paths.crioRegistriesDirectory,
      hostsFile: paths.hostsFile,
      ...(instance === undefined ? {} : { instance }),
    });
    // Every path is checked before the first write, so bad input writes nothing.
    const issues = plan.files.flatMap((file) => {
      const problem = nodePathProblem(file.path);
      return problem ? [{ path: "files", message: problem }] : [];
    });
    if (issues.length > 0) throw new InvalidNodeStateError(issues);
    for (const warning of warnings) logger.warn({ code: warning.code }, warning.message);

    const { record, existed } = await loadRecord();
    const before = JSON.stringify(record);
    const session = startSession(record);
    try {
      for (const file of plan.files) await session.reconcileFile(file, takeOver);
      const desired = new Set(plan.files.map((file) => file.path));
      for (const owned of [...record.files]) {
        if (!desired.has(owned.path)) await session.releaseFile(owned, false);
      }
      if (plan.hostsBlock) {
        await session.reconcileHostsBlock(plan.hostsBlock.path, plan.hostsBlock.block, takeOver);
      }
      for (const owned of [...session.record.hostsBlocks]) {
        if (owned.path !== plan.hostsBlock?.path) await session.releaseHostsBlock(owned, false);
      }
      await session.pruneDirectories(stillNeeded(session.record));
    } finally {
      await saveRecord(session, before, existed);
    }

    // An owned file that should go but was edited stays ("kept"): as much a conflict here.
    const conflicts = session.outcomes.filter(
      (outcome) => outcome.action === "conflict" || outcome.action === "kept",
    );
    const changed = session.outcomes.some((outcome) => changingActions.has(outcome.action));
    const result: NodeTrustApplyResult = {
      status: conflicts.length > 0 ? "conflict" : changed ? "changed" : "unchanged",
      changed,
      files: session.outcomes,
      conflicts,
      warnings,
      managedFiles: session.record.files.length + session.record.hostsBlocks.length,
    };
    if (containerdCertsDirectory) result.containerdCertsDirectory = containerdCertsDirectory;
    logger.info(
      { status: result.status, managedFiles: result.managedFiles, conflicts: conflicts.length },
      "node trust applied",
    );
    return result;
  }

  /** Paths whose directories must stay: owned files, backups, and the record itself. */
  function stillNeeded(record: OwnershipRecord): string[] {
    const needed = [
      ...record.files.map((entry) => entry.path),
      ...record.files.flatMap((entry) => (entry.backup ? [entry.backup.file] : [])),
      ...record.hostsBlocks.map((entry) => entry.path),
    ];
    if (!isEmptyOwnershipRecord(record)) needed.push(recordFile);
    return needed;
  }

  async function remove({ force = false } = {}): Promise<NodeTrustRemoveResult> {
    const { record, existed } = await loadRecord();
    if (!existed) return { status: "nothing-to-remove", files: [], kept: [] };
    const before = JSON.stringify(record);
    const session = startSession(record);
    try {
      for (const owned of [...record.files]) await session.releaseFile(owned, force);
      for (const owned of [...record.hostsBlocks]) await session.releaseHostsBlock(owned, force);
      const keepsSomething = session.record.files.length + session.record.hostsBlocks.length > 0;
      if (!keepsSomething) {
        // Nothing left to own: the record goes, then every directory regmirror created.
        await removeFileDurably(onDisk(recordFile));
        await session.pruneDirectories([]);
        return finishRemove(session);
      }
      await session.pruneDirectories(stillNeeded(session.record));
    } catch (error) {
      await saveRecord(session, before, existed);
      throw error;
    }
    await saveRecord(session, before, existed);
    return finishRemove(session);
  }

  function finishRemove(session: OwnershipSession): NodeTrustRemoveResult {
    const kept = session.outcomes.filter((outcome) => outcome.action === "kept");
    logger.info({ kept: kept.length }, "node trust removed");
    return { status: kept.length > 0 ? "kept" : "removed", files: session.outcomes, kept };
  }

  async function managedFiles(): Promise<string[]> {
    const { record } = await loadRecord();
    return [...record.files.map((entry) => entry.path), ...record.hostsBlocks.map((e) => e.path)];
  }

  return {
    root,
    apply: (state, applyOptions) => serialised(() => apply(state, applyOptions)),
    remove: (removeOptions) => serialised(() => remove(removeOptions)),
    managedFiles: () => serialised(managedFiles),
  };
}
