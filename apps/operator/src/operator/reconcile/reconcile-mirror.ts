// The reconcile of one RegistryMirror: claim, finalize or apply, then status, events and logs.
import {
  addFinalizer,
  type Condition,
  hasFinalizer,
  isBeingDeleted,
  isConflict,
  isKubernetesApiError,
  isNotFound,
  type KubeObject,
  type ReconcileRequest,
  type ReconcileResult,
  ReconcilerError,
  updateStatus,
} from "@regmirror/k8s-reconciler";
import {
  maxRegistryMirrorNameLength,
  ownerAnnotation,
  parseRegistryMirrorSpec,
  RegistryMirrorInvalidError,
  registryMirrorApi,
} from "@regmirror/schemas";
import { OperatorError } from "../operator-error.js";
import { upstreamCredentialsShared } from "../render/client-auth.js";
import { createMirrorContext } from "../render/mirror-context.js";
import { fieldManager, finalizerName } from "../render/object-names.js";
import { nodeRuntimes } from "../render/render-node-agent.js";
import { applyMirror } from "./apply-mirror.js";
import { finalizeMirror } from "./finalize-mirror.js";
import { claimMirror } from "./installation-claim.js";
import { computeStatus, failureConditions } from "./mirror-status.js";
import type { OperatorDependencies } from "./operator-dependencies.js";

// The reconcile of one RegistryMirror. Every failure is reported three ways: the Degraded
// condition (what `kubectl get rm` and `describe` show), a Warning Event, and the log; API
// errors are then thrown so the key is retried with backoff.

const namePattern = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const registryMirrorReference = {
  apiVersion: registryMirrorApi.apiVersion,
  kind: registryMirrorApi.kind,
} as const;

/** A missing or unreadable referenced object: looked for again this often (not backed off). */
const referencedObjectRetryMs = 15_000;

/** Credentials in another namespace are not watched: look at them this often. */
const foreignSecretResyncMs = 60_000;

/** reason + message for a thrown value; never a Secret's content (errors carry none). */
function describeFailure(error: unknown): { reason: string; message: string } {
  if (OperatorError.isInstance(error)) return { reason: error.reason, message: error.message };
  if (RegistryMirrorInvalidError.isInstance(error)) {
    return { reason: "InvalidSpec", message: error.message };
  }
  if (isKubernetesApiError(error)) {
    return { reason: `Api${error.reason ?? error.statusCode}`, message: error.message };
  }
  if (ReconcilerError.isInstance(error))
    return { reason: "ReconcileFailed", message: error.message };
  return {
    reason: "ReconcileFailed",
    message: error instanceof Error ? error.message : String(error),
  };
}

export function createMirrorReconciler(dependencies: OperatorDependencies) {
  const { client, mirrors, logger, events, installation, clock } = dependencies;
  // What was last reported about mirrors another installation owns (uid -> owner), so the log
  // line and the Event come once per mirror and owner, not on every update of its status.
  const reportedOwners = new Map<string, string>();
  const otherInstallations = new Set<string>();

  async function reportOwnedElsewhere(mirror: KubeObject, owner: string): Promise<void> {
    const uid = mirror.metadata?.uid ?? "";
    if (reportedOwners.get(uid) === owner) return;
    reportedOwners.set(uid, owner);
    if (!otherInstallations.has(owner)) {
      otherInstallations.add(owner);
      logger.warn(
        { installation, otherInstallation: owner },
        "another regmirror-operator installation owns mirrors in this cluster; this one leaves them alone",
      );
    }
    logger.warn(
      { mirror: mirror.metadata?.name, owner, installation },
      "mirror owned by another installation: left alone",
    );
    await events.record(mirror, {
      type: "Warning",
      reason: "OwnedByAnotherInstallation",
      action: "Claim",
      note: `owned by the regmirror-operator installation ${owner}; the installation ${installation} leaves it alone (a second installation is running: uninstall one, or move mirrors by changing the ${ownerAnnotation} annotation)`,
    });
  }

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
      clock.now(),
      installation,
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
      // One owner per mirror: claim it, or leave it to the installation that did.
      const claim = await claimMirror(client, mirror, installation, {
        // A mirror being deleted that no one claimed is ours to finish only if it has our finalizer.
        mayClaim: !isBeingDeleted(mirror) || hasFinalizer(mirror, finalizerName),
        signal,
      });
      if (!claim.owned) {
        if (claim.owner !== undefined) await reportOwnedElsewhere(mirror, claim.owner);
        return undefined;
      }
      mirror = claim.mirror;
      reportedOwners.delete(mirror.metadata?.uid ?? "");
      if (isBeingDeleted(mirror)) {
        return await finalizeMirror(mirror, dependencies, signal);
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
      const context = createMirrorContext(mirror, spec, dependencies);
      const applied = await applyMirror(context, dependencies, signal);
      const previous = ((mirror.status ?? {}) as { conditions?: Condition[] }).conditions;
      const masquerade = spec.masqueradeHostGiven
        ? {
            host: spec.masqueradeHost.replace(/:\d+$/, ""),
            mapped: nodeRuntimes(context).includes("hosts-file"),
            address: applied.clusterIp,
          }
        : undefined;
      const status = computeStatus(
        previous,
        {
          generation: mirror.metadata?.generation ?? 0,
          ...applied,
          upstreamCredentialsShared: upstreamCredentialsShared(spec),
          installation,
          ...(masquerade ? { masquerade } : {}),
        },
        clock.now(),
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
      if (applied.changes.length > 0) {
        logger.info(
          { mirror: name, changes: applied.changes },
          "mirror reconciled: objects changed",
        );
        await events.record(mirror, {
          type: "Normal",
          reason: "Applied",
          action: "Reconcile",
          note: `${applied.changes.join(", ")}`,
        });
      }
      const untilRenewal =
        applied.renewAtMs === undefined
          ? Number.POSITIVE_INFINITY
          : applied.renewAtMs - clock.now();
      const credentialsNamespace = spec.credentialsSecret?.namespace ?? dependencies.namespace;
      const foreignCredentials = credentialsNamespace !== dependencies.namespace;
      return {
        requeueAfter: Math.max(
          1_000,
          Math.min(
            dependencies.resyncIntervalMs,
            untilRenewal,
            foreignCredentials ? foreignSecretResyncMs : Number.POSITIVE_INFINITY,
          ),
        ),
      };
    } catch (error) {
      if (signal.aborted) throw error;
      // A stale copy (409) is no failure of the mirror: retry on fresh data, quietly.
      if (isConflict(error)) throw error;
      // Deleted while we worked on it: nothing left to report on.
      if (isNotFound(error) && !(await stillExists(mirror))) return undefined;
      await reportFailure(mirror, error);
      // A spec that cannot work waits for the user to change it (the update re-queues it).
      if (RegistryMirrorInvalidError.isInstance(error)) return undefined;
      if (OperatorError.isInstance(error) && error.reason === "InvalidName") return undefined;
      // A Secret that is missing or not readable yet: its informer (or this timer, for other
      // namespaces and RBAC changes) brings the mirror back, without an ever longer backoff.
      if (
        OperatorError.isInstance(error) &&
        error.code === "REGMIRROR_OPERATOR_REFERENCED_OBJECT"
      ) {
        return { requeueAfter: referencedObjectRetryMs };
      }
      throw error;
    }
  };

  async function stillExists(mirror: KubeObject): Promise<boolean> {
    try {
      await client.get({ ...registryMirrorReference, name: mirror.metadata?.name ?? "" });
      return true;
    } catch (error) {
      return !isNotFound(error);
    }
  }
}
