import { createManualClock } from "@regmirror/core/testing";
import { eventually } from "@regmirror/test-kit";
import { expect, test } from "vitest";
import { createWarmQueue, type WarmJob, type WarmOutcome } from "./warm-queue.js";
import { workloadImages } from "./workload-images.js";

/** A warm that waits until the test lets it finish, so concurrency can be observed. */
function controlledWarm() {
  const started: WarmJob[] = [];
  const finishers: { job: WarmJob; finish: (outcome: WarmOutcome | Error) => void }[] = [];
  return {
    started,
    warm: (job: WarmJob) =>
      new Promise<WarmOutcome>((resolve, reject) => {
        started.push(job);
        finishers.push({
          job,
          finish: (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome)),
        });
      }),
    finishNext: (outcome: WarmOutcome | Error = "warmed") => finishers.shift()?.finish(outcome),
    /** Finishes the warm of `image` (of any mirror, the first started). */
    finish(image: string, outcome: WarmOutcome | Error = "warmed") {
      const index = finishers.findIndex((entry) => entry.job.image === image);
      finishers.splice(index, 1)[0]?.finish(outcome);
    },
  };
}

test("each mirror warms at most its concurrency at once; the rest wait their turn", async () => {
  const warm = controlledWarm();
  const finished: string[] = [];
  const queue = createWarmQueue({
    warm: warm.warm,
    concurrency: (mirror) => (mirror === "hub" ? 2 : 1),
    rememberMs: 60_000,
    onFinished: (job, outcome) => finished.push(`${job.image} ${outcome}`),
  });
  for (const image of ["a", "b", "c"]) queue.add({ mirror: "hub", image });
  queue.add({ mirror: "quay", image: "q" });
  expect(warm.started.map((job) => job.image)).toEqual(["a", "b", "q"]);
  warm.finishNext();
  await eventually(() => expect(warm.started.map((job) => job.image)).toContain("c"));
  warm.finishNext(new Error("upstream down"));
  warm.finishNext("already-cached");
  warm.finishNext();
  await eventually(() => expect(queue.size()).toBe(0));
  expect(finished.sort()).toEqual(["a warmed", "b failed", "c warmed", "q already-cached"]);
});

test("an image queued, warming or warmed recently is not asked for twice; a failed one may be asked again", async () => {
  const warm = controlledWarm();
  const clock = createManualClock();
  const queue = createWarmQueue({
    warm: warm.warm,
    concurrency: () => 1,
    rememberMs: 600_000,
    clock,
  });
  expect(queue.add({ mirror: "hub", image: "a" })).toBe(true);
  expect(queue.add({ mirror: "hub", image: "a" })).toBe(false); // warming
  expect(queue.add({ mirror: "hub", image: "b" })).toBe(true);
  expect(queue.add({ mirror: "hub", image: "b" })).toBe(false); // queued
  expect(queue.add({ mirror: "other", image: "a" })).toBe(true); // another mirror's cache
  warm.finish("a");
  await eventually(() => expect(warm.started.map((job) => job.image)).toContain("b"));
  expect(queue.add({ mirror: "hub", image: "a" })).toBe(false); // warmed just now
  clock.advance(600_000);
  expect(queue.add({ mirror: "hub", image: "a" })).toBe(true); // a tag may have moved since
  warm.finish("b", new Error("refused"));
  await eventually(() => expect(queue.add({ mirror: "hub", image: "b" })).toBe(true));
});

test("workload images: every kind's pod template, init containers too, each once; a controlled Pod has none of its own", () => {
  const template = {
    spec: {
      initContainers: [{ name: "i", image: "busybox" }],
      containers: [
        { name: "a", image: "nginx" },
        { name: "b", image: "nginx" },
      ],
    },
  };
  for (const kind of ["Deployment", "StatefulSet", "DaemonSet", "Job"]) {
    expect(workloadImages({ kind, spec: { template } })).toEqual(["busybox", "nginx"]);
  }
  expect(
    workloadImages({ kind: "CronJob", spec: { jobTemplate: { spec: { template } } } }),
  ).toEqual(["busybox", "nginx"]);
  expect(workloadImages({ kind: "Pod", spec: template.spec })).toEqual(["busybox", "nginx"]);
  const owned = {
    kind: "Pod",
    metadata: {
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-1", uid: "u", controller: true },
      ],
    },
    spec: template.spec,
  };
  expect(workloadImages(owned)).toEqual([]);
  expect(workloadImages({ kind: "Deployment", spec: { template: "nonsense" } })).toEqual([]);
});
