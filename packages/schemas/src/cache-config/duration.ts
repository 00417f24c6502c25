// How the cache configuration reads durations: Go's syntax through @regmirror/core's parser, and
// what distribution and the MSR docs say about a bare number.

export const durationExpectation = "a duration like 24h, 30m, 1h30m, 500ms or 7d (0 for none)";

/** Go's time.Duration reads a bare YAML number as nanoseconds; the MSR docs say the same. */
export function nanosecondsToMilliseconds(nanoseconds: number): number {
  return Math.round(nanoseconds / 1e6);
}
