// Controller plumbing for Kubernetes operators written in TypeScript, on @kubernetes/client-node.

export type { ApiClient, ApiRequest, ApiStream } from "./api-client.js";
export { type Backoff, type BackoffOptions, createBackoff, exponentialDelay } from "./backoff.js";
export {
  type Condition,
  type ConditionInput,
  findCondition,
  formatTime,
  isConditionTrue,
  removeCondition,
  setCondition,
} from "./conditions.js";
export {
  type Controller,
  type ControllerOptions,
  createController,
  type InformerSource,
  type ReconcileRequest,
  type ReconcileResult,
} from "./controller.js";
export {
  isAlreadyExists,
  isConflict,
  isGone,
  isKubernetesApiError,
  isNotFound,
  KubernetesApiError,
  ReconcilerError,
  type ReconcilerErrorCode,
} from "./errors.js";
export {
  createEventRecorder,
  type EventInput,
  type EventRecorder,
  type EventRecorderOptions,
} from "./event-recorder.js";
export {
  addFinalizer,
  type FinalizerOptions,
  hasFinalizer,
  isBeingDeleted,
  removeFinalizer,
} from "./finalizers.js";
export {
  createInformer,
  type EventHandler,
  type Informer,
  type InformerOptions,
} from "./informer.js";
export {
  type ApplyOptions,
  createKubernetesClient,
  type DeleteOptions,
  type KubernetesClient,
  type KubernetesClientOptions,
  type ListOptions,
  type ListResult,
  PatchType,
  type WriteOptions,
} from "./kubernetes-client.js";
export {
  describeObject,
  groupOf,
  type KubeObject,
  type ObjectMeta,
  type ObjectReference,
  type OwnerReference,
  objectKey,
  parseObjectKey,
  type WireObject,
} from "./kubernetes-object.js";
export {
  createLeaderElector,
  type LeaderElector,
  type LeaderElectorOptions,
} from "./leader-election.js";
export type { ObjectStore } from "./object-store.js";
export {
  controllerOf,
  controllerReference,
  type OwnerKind,
  ownerKeysOf,
  withControllerReference,
} from "./owner-references.js";
export {
  createDefaultRateLimiter,
  createPerKeyBackoff,
  createTokenBucket,
  maxOfRateLimiters,
  type PerKeyBackoffOptions,
  type RateLimiter,
  type TokenBucketOptions,
} from "./rate-limiter.js";
export type { ResourceInfo, ResourceLocation, ResourcePaths } from "./resource-paths.js";
export { applyStatus, type StatusUpdateOptions, updateStatus } from "./status.js";
export { createWorkQueue, type WorkQueue, type WorkQueueOptions } from "./work-queue.js";
