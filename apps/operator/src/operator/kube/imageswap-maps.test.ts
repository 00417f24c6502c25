// Tests of merging this mirror's lines into ImageSwap's maps text.
import { describe, expect, it } from "vitest";
import { mergeImageswapMaps, parseOwned } from "./imageswap-maps.js";

const desired = new Map([
  ["docker.io", "mirror.example/docker.io"],
  ["ghcr.io", "mirror.example/ghcr.io"],
]);

describe("mergeImageswapMaps", () => {
  it("adds its lines after the ones already there and records them as owned", () => {
    const merge = mergeImageswapMaps("default::\n# a comment\n", desired, []);
    expect(merge.maps).toBe(
      "default::\n# a comment\ndocker.io::mirror.example/docker.io\nghcr.io::mirror.example/ghcr.io\n",
    );
    expect(merge.owned).toEqual(["docker.io", "ghcr.io"]);
    expect(merge.conflicts).toEqual([]);
  });

  it("is stable: merging its own result again changes nothing", () => {
    const first = mergeImageswapMaps("default::\n", desired, []);
    const second = mergeImageswapMaps(first.maps, desired, first.owned);
    expect(second).toEqual(first);
  });

  it("never rewrites a line it does not own, and reports it", () => {
    const merge = mergeImageswapMaps("docker.io::someone.example/hub\n", desired, []);
    expect(merge.maps).toBe("docker.io::someone.example/hub\nghcr.io::mirror.example/ghcr.io\n");
    expect(merge.owned).toEqual(["ghcr.io"]);
    expect(merge.conflicts).toEqual(["docker.io"]);
  });

  it("changes and removes only the lines it owns", () => {
    const current = "quay.io::other.example/quay\nghcr.io::old.example/ghcr.io\nk8s.io::mine/k8s\n";
    const merge = mergeImageswapMaps(current, new Map([["ghcr.io", "new.example/ghcr.io"]]), [
      "ghcr.io",
      "k8s.io",
    ]);
    expect(merge.maps).toBe("quay.io::other.example/quay\nghcr.io::new.example/ghcr.io\n");
    expect(merge.owned).toEqual(["ghcr.io"]);
  });

  it("removes everything it owns when nothing is desired (deletion)", () => {
    const merge = mergeImageswapMaps("a.io::x\nb.io::y\n", new Map(), ["b.io"]);
    expect(merge.maps).toBe("a.io::x\n");
    expect(merge.owned).toEqual([]);
  });

  it("reads the owner annotation leniently", () => {
    expect(parseOwned(undefined)).toEqual([]);
    expect(parseOwned(" docker.io, ghcr.io ,")).toEqual(["docker.io", "ghcr.io"]);
  });
});
