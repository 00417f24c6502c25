// Node runtime configuration for a registry mirror, written safely and removed exactly.
export {
  type ContainerdRegistrySettings,
  defaultContainerdCertsDirectory,
  type NodeTrustWarning,
  readContainerdRegistrySettings,
} from "./containerd-config.js";
export {
  InvalidNodeStateError,
  InvalidOptionsError,
  NodeFileWriteError,
  type NodeStateIssue,
  NodeTrustError,
  type NodeTrustErrorCode,
  OwnershipRecordError,
} from "./errors.js";
export {
  type HostsFileEntry,
  HostsFileEntrySchema,
  type Mirror,
  MirrorSchema,
  type NodeRuntime,
  type NodeTrustState,
  type NodeTrustStateInput,
  NodeTrustStateSchema,
  nodeRuntimes,
  parseNodeTrustState,
  type RegistryUpstream,
  RegistryUpstreamSchema,
  upstreamServer,
} from "./node-state.js";
export {
  createNodeTrustApplier,
  defaultNodeTrustPaths,
  type NodeTrustApplier,
  type NodeTrustApplierOptions,
  type NodeTrustApplyOptions,
  type NodeTrustApplyResult,
  type NodeTrustPaths,
  type NodeTrustRemoveResult,
} from "./node-trust-applier.js";
export type { NodeFileAction, NodeFileOutcome } from "./ownership-session.js";
export {
  crioDropInFileName,
  crioDropInName,
  type NodeFileLayout,
  type NodeFilePlan,
  planNodeFiles,
} from "./plan-node-files.js";
export { certsDirectoryHost, renderCertsDirectory } from "./render-certs-directory.js";
export {
  containerdHostKey,
  containerdMirrorFileNames,
  renderContainerdHostsToml,
} from "./render-containerd-hosts.js";
export { crioMirrorLocation, renderCrioRegistriesConf } from "./render-crio.js";
export {
  findHostsBlock,
  hostsBlockBegin,
  hostsBlockEnd,
  hostsBlockMarkers,
  removeHostsBlock,
  renderHostsBlock,
  upsertHostsBlock,
} from "./render-hosts-block.js";
export type { RenderedFile } from "./rendered-file.js";
