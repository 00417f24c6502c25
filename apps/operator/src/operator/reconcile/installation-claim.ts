// One owner per mirror: the installation that claims it (ADR 0021).
import { type KubeObject, type KubernetesClient, PatchType } from "@regmirror/k8s-reconciler";
import { ownerAnnotation, registryMirrorApi } from "@regmirror/schemas";
import { fieldManager, mirrorOperatorMirrorLabel } from "../render/object-names.js";

// One owner per mirror (docs/adr/0021-one-owner-per-mirror.md). An installation (the operator's
// namespace and Lease) claims an unclaimed mirror by writing its name into an annotation, with
// the resourceVersion it read as a precondition: when two installations race, the API server
// lets one write win and answers the other 409 Conflict; that one retries and sees the claim.

export type ClaimOutcome =
  | { owned: true; mirror: KubeObject }
  | { owned: false; owner: string }
  /** Being deleted, unclaimed and without our finalizer: nothing of ours to clean up. */
  | { owned: false; owner: undefined };

export function ownerOf(mirror: KubeObject): string | undefined {
  return mirror.metadata?.annotations?.[ownerAnnotation] || undefined;
}

/** The installation name: the namespace its objects live in and the Lease it leads with. */
export function installationName(namespace: string, leaseName: string): string {
  return `${namespace}/${leaseName}`;
}

export async function claimMirror(
  client: KubernetesClient,
  mirror: KubeObject,
  installation: string,
  options: { mayClaim: boolean; signal?: AbortSignal },
): Promise<ClaimOutcome> {
  const owner = ownerOf(mirror);
  if (owner === installation) return { owned: true, mirror };
  if (owner !== undefined) return { owned: false, owner };
  if (!options.mayClaim) return { owned: false, owner: undefined };
  const name = mirror.metadata?.name ?? "";
  const labels = mirror.metadata?.labels ?? {};
  const claimed = await client.patch<KubeObject>(
    { apiVersion: registryMirrorApi.apiVersion, kind: registryMirrorApi.kind, name },
    {
      metadata: {
        // The precondition: fails with 409 if anyone changed the mirror since we read it.
        resourceVersion: mirror.metadata?.resourceVersion,
        annotations: { [ownerAnnotation]: installation },
        // mirror-operator's `kubectl get ...,registrymirror -l mirror=NAME` lists the mirror too.
        ...(labels[mirrorOperatorMirrorLabel] === undefined
          ? { labels: { [mirrorOperatorMirrorLabel]: name } }
          : {}),
      },
    },
    PatchType.merge,
    { fieldManager, signal: options.signal },
  );
  return { owned: true, mirror: claimed };
}
