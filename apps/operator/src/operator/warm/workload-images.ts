// The images a workload's pods will pull: its pod template's containers and init containers.
import { controllerOf, type KubeObject } from "@regmirror/k8s-reconciler";
import { isRecord } from "../webhook/admission-review.js";

/** The kinds warm-ahead watches, and where each keeps its pod spec. */
export const warmedKinds = [
  { apiVersion: "apps/v1", kind: "Deployment" },
  { apiVersion: "apps/v1", kind: "StatefulSet" },
  { apiVersion: "apps/v1", kind: "DaemonSet" },
  { apiVersion: "batch/v1", kind: "Job" },
  { apiVersion: "batch/v1", kind: "CronJob" },
  { apiVersion: "v1", kind: "Pod" },
] as const;

function podSpecOf(workload: KubeObject): unknown {
  const spec = isRecord(workload.spec) ? workload.spec : {};
  if (workload.kind === "Pod") return spec;
  if (workload.kind === "CronJob") {
    const jobTemplate = isRecord(spec.jobTemplate) ? spec.jobTemplate : {};
    const jobSpec = isRecord(jobTemplate.spec) ? jobTemplate.spec : {};
    return isRecord(jobSpec.template) ? jobSpec.template.spec : undefined;
  }
  return isRecord(spec.template) ? spec.template.spec : undefined;
}

/**
 * The images, each once, in order. A Pod with a controller (a ReplicaSet's, a Job's) has none
 * of its own: its workload was warmed when it was created or changed.
 */
export function workloadImages(workload: KubeObject): string[] {
  if (workload.kind === "Pod" && controllerOf(workload) !== undefined) return [];
  const podSpec = podSpecOf(workload);
  if (!isRecord(podSpec)) return [];
  const images = new Set<string>();
  for (const list of ["initContainers", "containers"]) {
    const containers = podSpec[list];
    if (!Array.isArray(containers)) continue;
    for (const container of containers) {
      if (isRecord(container) && typeof container.image === "string" && container.image !== "") {
        images.add(container.image);
      }
    }
  }
  return [...images];
}
