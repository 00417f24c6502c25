// A real Kubernetes API server (etcd + kube-apiserver) for tests of controllers and operators.
export { type EnvtestBinaries, resolveBinaries } from "./binaries.js";
export {
  isExecutable,
  runningServerCount,
  type ServerProcess,
  type ServerProcessOptions,
  startServerProcess,
  waitUntilReady,
} from "./child-process.js";
export { EnvtestError, type EnvtestErrorCode } from "./errors.js";
export { registerExitCleanup } from "./exit-cleanup.js";
export { freePort, probe } from "./loopback.js";
export {
  isAddressInUse,
  type PortConflictRetryOptions,
  retryOnAddressInUse,
} from "./port-conflict.js";
export {
  type KubeApiServer,
  type KubeApiServerOptions,
  type KubeApiServerUser,
  startKubeApiServer,
} from "./start-kube-api-server.js";
