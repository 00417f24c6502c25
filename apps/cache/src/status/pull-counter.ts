/**
 * The most pulled images for the status page: manifests served by tag, counted per
 * `registry/repository:tag` in memory since start (pulls by digest are the second half of a
 * pull by tag, or a pin, and are not counted again).
 */
import { isDigest } from "@regmirror/oci-distribution";
import type { FinishedRequest } from "../logging/access-log.js";

export interface PulledImage {
  name: string;
  pulls: number;
}

export interface PullCounter {
  /**
   * Called when a response ends; counts a manifest GET by tag answered 200 (the route the
   * registry handler served, so `?ns=` and host:port prefixes count as the registry they name).
   */
  observe(finished: Pick<FinishedRequest, "entry" | "status">): void;
  top(count: number): PulledImage[];
}

/** Most images kept; the least pulled are dropped beyond it (a cache sees a bounded set). */
const maxImages = 10_000;

export function createPullCounter(
  /** `registry/repository` for a repository path the cache serves; undefined: none. */
  nameOf: (repositoryPath: string) => string | undefined,
): PullCounter {
  const pulls = new Map<string, number>();
  return {
    observe({ entry, status }) {
      if (status !== 200 || entry.method !== "GET") return;
      const route = entry.served;
      if (route?.endpoint !== "manifest" || isDigest(route.reference)) return;
      const name = nameOf(route.repository);
      if (name === undefined) return;
      const key = `${name}:${route.reference}`;
      pulls.set(key, (pulls.get(key) ?? 0) + 1);
      if (pulls.size > maxImages) {
        const least = [...pulls].sort((left, right) => left[1] - right[1])[0];
        if (least !== undefined) pulls.delete(least[0]);
      }
    },
    top(count) {
      return [...pulls]
        .map(([name, total]) => ({ name, pulls: total }))
        .sort((left, right) => right.pulls - left.pulls || left.name.localeCompare(right.name))
        .slice(0, count);
    },
  };
}
