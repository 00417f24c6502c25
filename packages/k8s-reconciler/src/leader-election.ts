// Leader election on a coordination.k8s.io/v1 Lease.
import {
  type Clock,
  describeError,
  type Logger,
  silentLogger,
  sleep,
  systemClock,
} from "@regmirror/core";
import { isAlreadyExists, isConflict, isNotFound, ReconcilerError } from "./errors.js";
import type { KubernetesClient } from "./kubernetes-client.js";
import type { KubeObject } from "./kubernetes-object.js";
import { formatMicroTime } from "./time-format.js";

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderElectorOptions {
  client: KubernetesClient;
  /** Namespace and name of the coordination.k8s.io/v1 Lease. */
  namespace: string;
  name: string;
  /** Unique per process (pod name plus a random suffix, say). */
  identity: string;
  /** How long a lease holds without renewal; others wait this long. Default 15 s. */
  leaseDurationMs?: number;
  /** A leader that could not renew for this long stops leading. Default 10 s. */
  renewDeadlineMs?: number;
  /** Pause between attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  /** Give the lease up on `close()` so another process takes over at once. Default true. */
  releaseOnClose?: boolean;
  /** Called on becoming leader (not awaited: renewing goes on); `signal` aborts when leadership ends. */
  onStartedLeading?(signal: AbortSignal): void | Promise<void>;
  /** Called (and awaited) when leadership ends, by loss or by close. */
  onStoppedLeading?(): void | Promise<void>;
  /** Called when the holder seen in the lease changes. */
  onNewLeader?(identity: string): void;
  logger?: Logger;
  clock?: Clock;
  random?: () => number;
}

export interface LeaderElector {
  /** Starts competing for the lease in the background. */
  start(): void;
  isLeader(): boolean;
  /** Stops competing; releases the lease if leading and `releaseOnClose`. */
  close(): Promise<void>;
}

const leaseApi = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" } as const;
// Spread retries like client-go's JitterFactor 1.2, so candidates do not move in lock step.
const retryJitter = 0.2;

/**
 * Leader election on a Lease, as client-go does it: the holder renews every retry period;
 * a candidate takes the lease only when its holder has not renewed it for a lease duration
 * measured on the candidate's own clock (so clock skew between machines does not matter).
 * A leader that cannot renew within the renew deadline stops leading before the lease
 * expires for others, then competes again.
 */
export function createLeaderElector(options: LeaderElectorOptions): LeaderElector {
  const {
    client,
    namespace,
    name,
    identity,
    leaseDurationMs = 15_000,
    renewDeadlineMs = 10_000,
    retryPeriodMs = 2_000,
    releaseOnClose = true,
    logger = silentLogger,
    clock = systemClock,
    random = Math.random,
  } = options;
  if (!identity)
    throw new ReconcilerError("BAD_OPTION", "createLeaderElector: identity must not be empty");
  if (!(leaseDurationMs >= 1_000 && leaseDurationMs > renewDeadlineMs)) {
    throw new ReconcilerError(
      "BAD_OPTION",
      `createLeaderElector: leaseDurationMs (${leaseDurationMs}) must be >= 1000 and greater than renewDeadlineMs (${renewDeadlineMs})`,
    );
  }
  if (!(renewDeadlineMs > retryPeriodMs * (1 + retryJitter) && retryPeriodMs > 0)) {
    throw new ReconcilerError(
      "BAD_OPTION",
      `createLeaderElector: renewDeadlineMs (${renewDeadlineMs}) must exceed 1.2 x retryPeriodMs (${retryPeriodMs})`,
    );
  }
  const leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
  const reference = { ...leaseApi, namespace, name };
  const log = { lease: `${namespace}/${name}`, identity };
  const stopping = new AbortController();
  let leading: AbortController | undefined;
  let running: Promise<void> | undefined;
  // The last record seen and when (on our clock) it was seen to change.
  let observed: { record: string; holder: string; atMs: number } | undefined;

  function jittered(ms: number): number {
    return ms * (1 + retryJitter * random());
  }

  function observe(spec: LeaseSpec): void {
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseTransitions]);
    if (observed?.record === record) return;
    const holder = spec.holderIdentity ?? "";
    if (holder && holder !== observed?.holder) options.onNewLeader?.(holder);
    observed = { record, holder, atMs: clock.now() };
  }

  /** One attempt; true when we hold the lease afterwards. */
  async function tryAcquireOrRenew(): Promise<boolean> {
    const now = clock.now();
    const ours: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: formatMicroTime(now),
      renewTime: formatMicroTime(now),
      leaseTransitions: 0,
    };
    let lease: Lease;
    try {
      lease = await client.get<Lease>(reference, stopping.signal);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        const created = await client.create<Lease>({
          ...leaseApi,
          metadata: { namespace, name },
          spec: ours,
        });
        observe(created.spec ?? ours);
        return true;
      } catch (createError) {
        if (isAlreadyExists(createError)) return false;
        throw createError;
      }
    }
    const spec = lease.spec ?? {};
    observe(spec);
    const holder = spec.holderIdentity ?? "";
    const heldByUs = holder === identity;
    const durationMs = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (holder && !heldByUs && observed && observed.atMs + durationMs > now) return false;
    const next: LeaseSpec = {
      ...ours,
      acquireTime: heldByUs ? (spec.acquireTime ?? ours.acquireTime) : ours.acquireTime,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (heldByUs || !holder ? 0 : 1),
    };
    try {
      // The resourceVersion in `lease` makes this a compare-and-swap: two candidates racing
      // for an expired lease cannot both win.
      const updated = await client.replace<Lease>({ ...lease, spec: next });
      observe(updated.spec ?? next);
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  async function attempt(): Promise<boolean> {
    try {
      return await tryAcquireOrRenew();
    } catch (error) {
      if (!stopping.signal.aborted)
        logger.warn({ ...log, error: describeError(error) }, "lease request failed");
      return false;
    }
  }

  async function lead(): Promise<void> {
    const session = new AbortController();
    leading = session;
    logger.info(log, "started leading");
    // Not awaited: starting the work (informers syncing, say) may take longer than the
    // renew deadline, and the lease must be renewed meanwhile.
    Promise.resolve()
      .then(() => options.onStartedLeading?.(session.signal))
      .catch((error: unknown) => {
        logger.error({ ...log, error: describeError(error) }, "onStartedLeading failed");
      });
    let lastRenewMs = clock.now();
    while (!stopping.signal.aborted) {
      await sleep(clock, retryPeriodMs, stopping.signal);
      if (stopping.signal.aborted) break;
      if (await attempt()) {
        lastRenewMs = clock.now();
      } else if (clock.now() - lastRenewMs >= renewDeadlineMs) {
        logger.warn(log, "could not renew the lease within the renew deadline; stopping leading");
        break;
      }
    }
    await stopLeading();
  }

  async function stopLeading(): Promise<void> {
    const session = leading;
    if (!session) return;
    leading = undefined;
    session.abort();
    try {
      await options.onStoppedLeading?.();
    } catch (error) {
      logger.error({ ...log, error: describeError(error) }, "onStoppedLeading threw");
    }
    logger.info(log, "stopped leading");
  }

  async function run(): Promise<void> {
    while (!stopping.signal.aborted) {
      if (await attempt()) {
        if (stopping.signal.aborted) break;
        await lead();
      } else {
        await sleep(clock, jittered(retryPeriodMs), stopping.signal);
      }
    }
  }

  async function release(): Promise<void> {
    try {
      const lease = await client.get<Lease>(reference);
      if (lease.spec?.holderIdentity !== identity) return;
      const now = formatMicroTime(clock.now());
      // An empty holder with a 1 s duration: any candidate may take it at its next try.
      await client.replace<Lease>({
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: "",
          leaseDurationSeconds: 1,
          renewTime: now,
          acquireTime: now,
        },
      });
      logger.info(log, "released the lease");
    } catch (error) {
      logger.warn(
        { ...log, error: describeError(error) },
        "could not release the lease; it will expire",
      );
    }
  }

  return {
    start() {
      if (stopping.signal.aborted)
        throw new ReconcilerError("CLOSED", "leader elector: start() after close()");
      running ??= run();
    },
    isLeader: () => leading !== undefined,
    async close() {
      stopping.abort();
      await running;
      // `lead()` has already called onStoppedLeading; release only after the work stopped.
      // (release() checks the holder: it also frees a lease won just as close() began.)
      if (running && releaseOnClose) await release();
    },
  };
}
