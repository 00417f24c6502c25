import {
  addFinalizer,
  type Condition,
  type EventRecorder,
  hasFinalizer,
  type Informer,
  isBeingDeleted,
  isConflict,
  type KubeObject,
  KubernetesApiError,
  type KubernetesClient,
  type Logger,
  type ReconcileRequest,
  type ReconcileResult,
  ReconcilerError,
  updateStatus,
} from "@regmirror/k8s-reconciler";
import {
  maxRegistryMirrorNameLength,
  parseRegistryMirrorSpec,
  RegistryMirrorInvalidError,
} from "@regmirror/schemas";
import { applyMirror } from "./apply-mirror.js";
import { upstreamCredentialsShared } from "./client-auth.js";
import { finalizeMirror } from "./finalize-mirror.js";
import type { MirrorContext, OperatorImages } from "./mirror-context.js";
import { computeStatus, failureConditions } from "./mirror-status.js";
import { fieldManager, finalizerName, mirrorObjectNames } from "./object-names.js";
import { OperatorError } from "./operator-error.js";
import type { OwnedInformers } from "./owned-objects.js";

// The reconcile of one RegistryMirror. Every failure is reported three ways: the Degraded
// condition (what `kubectl get rm` and `describe` show), a Warning Event, and the log; API
// errors are then thrown so the key is retried with backoff.

export interface MirrorReconcilerDependencies {
  client: KubernetesClient;
  mirrors: Informer;
  informers: OwnedInformers;
  namespace: string;
  images: OperatorImages;
  imageswapNamespace: string;
  nodeCleanupTimeoutMs: number;
  /** Look again this often even when nothing changes (drift nobody is told about). */
  resyncIntervalMs: number;
  events: EventRecorder;
  logger: Logger;
  now(): number;
}

const namePattern = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** reason + message for a thrown value; never a Secret's content (errors carry none). */
function describeFailure(error: unknown): { reason: string; message: string } {
  if (OperatorError.isInstance(error)) return { reason: error.reason, message: error.message };
  if (RegistryMirrorInvalidError.isInstance(error)) {
    return { reason: "InvalidSpec", message: error.message };
  }
  if (error instanceof KubernetesApiError) {
    return { reason: `Api${error.reason ?? error.statusCode}`, message: error.message };
  }
  if (error instanceof ReconcilerError)
    return { reason: "ReconcileFailed", message: error.message };
  return {
    reason: "ReconcileFailed",
    message: error instanceof Error ? error.message : String(error),
  };
}

export function createMirrorReconciler(dependencies: MirrorReconcilerDependencies) {
  const { client, mirrors, logger, events } = dependencies;

  async function reportFailure(mirror: KubeObject, error: unknown): Promise<void> {
    const failure = describeFailure(error);
    const name = mirror.metadata?.name;
    logger.error(
      { mirror: name, reason: failure.reason, error: failure.message },
      "reconcile failed",
    );
    await events.record(mirror, {
      type: "Warning",
      reason: failure.reason,
      action: "Reconcile",
      note: failure.message,
    });
    // The freshest copy the cache has: the status write must not lose to our own updates.
    const latest = (name ? mirrors.store.get(name) : undefined) ?? mirror;
    const status = (latest.status ?? {}) as Record<string, unknown>;
    const conditions = failureConditions(
      status.conditions as Condition[] | undefined,
      failure,
      latest.metadata?.generation ?? 0,
      dependencies.now(),
    );
    try {
      await updateStatus(client, latest, { ...status, conditions }, { fieldManager });
    } catch (statusError) {
      logger.error(
        { mirror: name, error: (statusError as Error).message },
        "could not write the failure into the status",
      );
    }
  }

  return async function reconcile(request: ReconcileRequest): Promise<ReconcileResult> {
    const cached = mirrors.store.get(request.key);
    if (!cached) return undefined; // gone: the finalizer has done its work
    const signal = request.signal;
    let mirror = cached;
    const name = request.name;
    try {
      if (isBeingDeleted(mirror)) {
        return await finalizeMirror(mirror, { ...dependencies, now: dependencies.now, signal });
      }
      if (name.length > maxRegistryMirrorNameLength || !namePattern.test(name)) {
        throw new OperatorError(
          "REGMIRROR_OPERATOR_BAD_OPTION",
          "InvalidName",
          `metadata.name "${name}" must be a DNS label of at most ${maxRegistryMirrorNameLength} characters`,
        );
      }
      const spec = parseRegistryMirrorSpec(mirror.spec);
      if (!hasFinalizer(mirror, finalizerName)) {
        mirror = await addFinalizer(client, mirror, finalizerName, { fieldManager, signal });
      }
      const context: MirrorContext = {
        mirror,
        name,
        namespace: dependencies.namespace,
        spec,
        names: mirrorObjectNames(name),
        images: dependencies.images,
      };
      const applied = await applyMirror(context, {
        client,
        informers: dependencies.informers,
        imageswapNamespace: dependencies.imageswapNamespace,
        now: dependencies.now,
        signal,
      });
      const previous = ((mirror.status ?? {}) as { conditions?: Condition[] }).conditions;
      const status = computeStatus(
        previous,
        {
          generation: mirror.metadata?.generation ?? 0,
          ...applied,
          upstreamCredentialsShared: upstreamCredentialsShared(spec),
        },
        dependencies.now(),
      );
      await updateStatus(client, mirror, status, { fieldManager, signal });
      for (const warning of applied.warnings) {
        await events.record(mirror, {
          type: "Warning",
          reason: warning.reason,
          action: "Reconcile",
          note: warning.message,
        });
      }
      const untilRenewal =
        applied.renewAtMs === undefined
          ? Number.POSITIVE_INFINITY
          : applied.renewAtMs - dependencies.now();
      return {
        requeueAfter: Math.max(1_000, Math.min(dependencies.resyncIntervalMs, untilRenewal)),
      };
    } catch (error) {
      if (signal.aborted) throw error;
      // A stale copy (409) is no failure of the mirror: retry on fresh data, quietly.
      if (isConflict(error)) throw error;
      await reportFailure(mirror, error);
      // A spec that cannot work waits for the user to change it (the update re-queues it).
      if (RegistryMirrorInvalidError.isInstance(error)) return undefined;
      if (OperatorError.isInstance(error) && error.reason === "InvalidName") return undefined;
      throw error;
    }
  };
}
