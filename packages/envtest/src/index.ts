// A real Kubernetes API server (etcd + kube-apiserver) for tests of controllers and operators.
export { type EnvtestBinaries, resolveBinaries } from "./binaries.js";
export { EnvtestError, type EnvtestErrorCode } from "./errors.js";
export {
  type KubeApiServer,
  type KubeApiServerOptions,
  type KubeApiServerUser,
  startKubeApiServer,
} from "./start-kube-api-server.js";
