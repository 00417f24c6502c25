import { matchRegistryRoute, RegistryError } from "@regmirror/oci-distribution";
import { dockerHubHosts } from "@regmirror/schemas";
import { describe, expect, it } from "vitest";
import {
  createRegistryRouter,
  type HostSegments,
  routeWithNamespace,
} from "../../src/pull-through/index.js";

const hub = { name: "docker-hub", hosts: [...dockerHubHosts] };
const ghcr = { name: "ghcr", hosts: ["ghcr.io"] };
const local = { name: "local", hosts: ["registry.local:5000", "mirror.local"] };

function refusal(run: () => unknown): RegistryError {
  try {
    run();
  } catch (error) {
    if (RegistryError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("registry router", () => {
  const router = createRegistryRouter({
    upstreams: [hub, ghcr, local],
    defaultUpstream: "docker-hub",
  });

  it("adds library/ to one-segment Docker Hub names, by default and under every alias", () => {
    expect(router.route("nginx")).toEqual({ upstream: hub, repository: "library/nginx" });
    for (const host of ["docker.io", "registry-1.docker.io", "index.docker.io"]) {
      expect(router.route(`${host}/nginx`)).toEqual({ upstream: hub, repository: "library/nginx" });
    }
    expect(router.route("docker.io/bitnami/redis")).toEqual({
      upstream: hub,
      repository: "bitnami/redis",
    });
    expect(router.route("team/app")).toEqual({ upstream: hub, repository: "team/app" });
  });

  it("routes a configured host prefix without touching the rest of the name", () => {
    expect(router.route("ghcr.io/org/tool")).toEqual({ upstream: ghcr, repository: "org/tool" });
    expect(router.route("ghcr.io/tool")).toEqual({ upstream: ghcr, repository: "tool" });
    expect(router.route("registry.local_5000/a/b")).toEqual({ upstream: local, repository: "a/b" });
    expect(router.route("mirror.local/a")).toEqual({ upstream: local, repository: "a" });
  });

  it("refuses a registry that is not configured rather than proxying it", () => {
    const error = refusal(() => router.route("quay.io/org/app"));
    expect(error.code).toBe("DENIED");
    expect(error.message).toBe("registry quay.io is not configured on this cache");
    expect(refusal(() => router.route("registry.local_6000/app")).message).toContain(
      "registry.local:6000",
    );
    expect(refusal(() => router.route("localhost_5000/app")).code).toBe("DENIED");
    expect(refusal(() => router.route("ghcr.io")).code).toBe("NAME_INVALID");
  });

  it("refuses a name whose routed form is no valid repository name (library/ makes it too long)", () => {
    const longest = "a".repeat(247);
    expect(router.route(longest).repository).toBe(`library/${longest}`);
    for (const path of ["a".repeat(248), "a".repeat(255), `docker.io/${"a".repeat(248)}`]) {
      const error = refusal(() => router.route(path));
      expect(error.code).toBe("NAME_INVALID");
      expect(error.status).toBe(400);
      expect(error.message).toBe(
        "the repository name at upstream docker-hub would be invalid: longer than 255 characters",
      );
    }
    // Other upstreams add nothing: a 255-character name routes unchanged.
    expect(router.route(`ghcr.io/${"b".repeat(255)}`).repository).toBe("b".repeat(255));
    expect(refusal(() => router.route("ghcr.io/Org/Tool")).code).toBe("NAME_INVALID");
  });

  it("refuses names without a registry when there is no default upstream", () => {
    const strict = createRegistryRouter({ upstreams: [hub, ghcr], defaultUpstream: null });
    expect(refusal(() => strict.route("library/nginx")).code).toBe("DENIED");
    expect(strict.route("ghcr.io/org/tool").repository).toBe("org/tool");
  });

  it("gives the path segment of configured hosts only", () => {
    expect(router.segmentForHost("Registry.Local:5000")).toBe("registry.local_5000");
    expect(router.segmentForHost("index.docker.io")).toBe("index.docker.io");
    expect(refusal(() => router.segmentForHost("quay.io")).code).toBe("DENIED");
    expect(refusal(() => router.segmentForHost("not a host")).code).toBe("NAME_INVALID");
    expect(refusal(() => router.segmentForHost("")).code).toBe("NAME_INVALID");
    expect(refusal(() => router.segmentForHost("[::1]:5000")).code).toBe("NAME_INVALID");
  });

  it("names cached repositories as a client addresses them", () => {
    expect(router.clientRepositoryName(hub, "library/nginx")).toBe("library/nginx");
    expect(router.clientRepositoryName(local, "a/b")).toBe("registry.local_5000/a/b");
  });

  it("rejects a default upstream that is not configured", () => {
    expect(() => createRegistryRouter({ upstreams: [hub], defaultUpstream: "ghcr" })).toThrow(
      TypeError,
    );
  });
});

/** What the storage is asked about for `url`: the route with the namespace applied, the query left. */
function resolved(url: string, router: HostSegments) {
  const [path = "", search = ""] = url.split("?");
  const route = matchRegistryRoute(path);
  if (route === undefined) throw new Error(`${path} is no registry endpoint`);
  const query = new URLSearchParams(search);
  return { route: routeWithNamespace(route, query, router), query: query.toString() };
}

describe("routeWithNamespace (?ns= and host:port prefixes)", () => {
  const router = createRegistryRouter({ upstreams: [hub, local], defaultUpstream: "docker-hub" });

  it("moves ns into the repository and keeps the other query parameters", () => {
    expect(resolved("/v2/library/nginx/manifests/latest?ns=docker.io", router)).toEqual({
      route: { endpoint: "manifest", repository: "docker.io/library/nginx", reference: "latest" },
      query: "",
    });
    expect(resolved("/v2/app/tags/list?n=10&ns=registry.local:5000&last=a", router)).toEqual({
      route: { endpoint: "tags", repository: "registry.local_5000/app" },
      query: "n=10&last=a",
    });
  });

  it("rewrites a host:port prefix and leaves everything else alone", () => {
    expect(resolved("/v2/registry.local:5000/app/blobs/sha256:ab", router).route).toEqual({
      endpoint: "blob",
      repository: "registry.local_5000/app",
      digest: "sha256:ab",
    });
    expect(resolved("/v2/registry.local:5000/tags/list", router).route).toEqual({
      endpoint: "tags",
      repository: "registry.local_5000",
    });
    expect(resolved("/v2/app/blobs/sha256:ab", router).route).toEqual({
      endpoint: "blob",
      repository: "app",
      digest: "sha256:ab",
    });
    expect(resolved("/v2/", router).route).toEqual({ endpoint: "base" });
    expect(resolved("/v2/_catalog?ns=docker.io", router)).toEqual({
      route: { endpoint: "catalog" },
      query: "ns=docker.io",
    });
  });

  it("refuses unknown, malformed and repeated ns", () => {
    expect(refusal(() => resolved("/v2/app/manifests/1?ns=quay.io", router)).code).toBe("DENIED");
    expect(refusal(() => resolved("/v2/app/manifests/1?ns=a%2Fb", router)).code).toBe(
      "NAME_INVALID",
    );
    expect(
      refusal(() => resolved("/v2/app/manifests/1?ns=docker.io&ns=docker.io", router)).code,
    ).toBe("NAME_INVALID");
    expect(refusal(() => resolved("/v2/?ns=docker.io&ns=docker.io", router)).code).toBe(
      "NAME_INVALID",
    );
    expect(refusal(() => resolved("/v2/other.example:1/app/manifests/1", router)).code).toBe(
      "DENIED",
    );
  });
});
