// Upstreams from `proxy`, the MSR `downstream` middleware or `regmirror.upstreams`.
import type { CacheConfigFile } from "./cache-config-schema.js";
import { dockerHubUpstream } from "./default-cache-config.js";
import { dockerHubHosts, isDockerHubHost } from "./docker-hub.js";
import type { EffectiveUpstream, UpstreamCredentials } from "./effective-cache-config.js";
import { type ProblemCollector, pickOne } from "./problem-collector.js";
import type { SecretValue } from "./secret-value.js";

export interface NormalizedUpstreams {
  upstreams: EffectiveUpstream[];
  defaultUpstream: string | null;
}

/** Upstreams come from proxy (distribution), middleware downstream (MSR) or regmirror.upstreams. */
export function normalizeUpstreams(
  file: CacheConfigFile,
  problems: ProblemCollector,
  options: { checkDefaultUpstream: boolean },
): NormalizedUpstreams {
  const downstream = file.middleware?.registry?.[0];
  const given = pickOne<EffectiveUpstream[]>(problems, "upstream registries", [
    [
      ["regmirror", "upstreams"],
      file.regmirror?.upstreams?.map((upstream, index) =>
        nativeUpstream(upstream, index, problems),
      ),
    ],
    [["proxy"], file.proxy && [proxyUpstream(file.proxy, problems)]],
    [["middleware", "registry"], downstream && [downstreamUpstream(downstream.options)]],
  ]) ?? [dockerHubUpstream];
  const shared = file.regmirror?.caBundles ?? [];
  const upstreams =
    shared.length === 0
      ? given
      : given.map((upstream) => ({
          ...upstream,
          caFiles: dedupe([...upstream.caFiles, ...shared]),
        }));

  checkUnique(upstreams, file, problems);

  const requested = file.regmirror?.defaultUpstream;
  let defaultUpstream: string | null = upstreams[0]?.name ?? null;
  if (requested !== undefined) {
    defaultUpstream = requested;
    if (
      options.checkDefaultUpstream &&
      requested !== null &&
      !upstreams.some((upstream) => upstream.name === requested)
    ) {
      problems.add(
        ["regmirror", "defaultUpstream"],
        `the name of a configured upstream (${upstreams.map((upstream) => upstream.name).join(", ")}) or null`,
      );
    }
  }
  return { upstreams, defaultUpstream };
}

type NativeUpstream = NonNullable<NonNullable<CacheConfigFile["regmirror"]>["upstreams"]>[number];

function nativeUpstream(
  upstream: NativeUpstream,
  index: number,
  problems: ProblemCollector,
): EffectiveUpstream {
  const path = ["regmirror", "upstreams", index, "credentials"];
  const given = upstream.credentials;
  let credentials: UpstreamCredentials = { kind: "none" };
  if (given?.dockerConfig !== undefined) {
    if (given.username !== undefined || given.password !== undefined) {
      problems.add([...path, "dockerConfig"], "either username/password or dockerConfig, not both");
    }
    credentials = { kind: "docker-config", file: given.dockerConfig };
  } else if (given !== undefined) {
    credentials = basicCredentials(given.username, given.password, path, problems);
  }
  return {
    name: upstream.name,
    hosts: dedupe(upstream.hosts ?? hostsOf(upstream.endpoints)),
    endpoints: dedupe(upstream.endpoints),
    credentials,
    caFiles: upstream.caBundle === undefined ? [] : [upstream.caBundle],
  };
}

function proxyUpstream(
  proxy: NonNullable<CacheConfigFile["proxy"]>,
  problems: ProblemCollector,
): EffectiveUpstream {
  return {
    name: nameFor(proxy.remoteurl),
    hosts: hostsOf([proxy.remoteurl]),
    endpoints: [proxy.remoteurl],
    credentials: basicCredentials(proxy.username, proxy.password, ["proxy"], problems),
    caFiles: [],
  };
}

/** MSR: several upstreams are addresses of one registry (or of caches in front of it). */
function downstreamUpstream(options: {
  upstreams: string[];
  cas?: string[] | undefined;
}): EffectiveUpstream {
  const endpoints = dedupe(options.upstreams);
  return {
    name: nameFor(endpoints[0] ?? ""),
    hosts: hostsOf(endpoints),
    endpoints,
    credentials: { kind: "none" },
    caFiles: dedupe(options.cas ?? []),
  };
}

function basicCredentials(
  username: string | undefined,
  password: SecretValue | undefined,
  path: readonly PropertyKey[],
  problems: ProblemCollector,
): UpstreamCredentials {
  if (username === undefined && password === undefined) return { kind: "none" };
  if (username === undefined) {
    problems.add([...path, "username"], "a username next to the password");
    return { kind: "none" };
  }
  if (password === undefined) {
    problems.add([...path, "password"], "a password next to the username");
    return { kind: "none" };
  }
  return { kind: "basic", username, password };
}

function checkUnique(
  upstreams: EffectiveUpstream[],
  file: CacheConfigFile,
  problems: ProblemCollector,
): void {
  const names = new Map<string, number>();
  const hosts = new Map<string, string>();
  upstreams.forEach((upstream, index) => {
    const path = file.regmirror?.upstreams ? ["regmirror", "upstreams", index] : [];
    if (names.has(upstream.name)) {
      problems.add(
        [...path, "name"],
        `a name no other upstream has (upstream ${names.get(upstream.name)} has it)`,
      );
    }
    names.set(upstream.name, index);
    for (const host of upstream.hosts) {
      const owner = hosts.get(host);
      if (owner !== undefined && owner !== upstream.name) {
        problems.add(
          [...path, "hosts"],
          `hosts that no other upstream claims: ${host} is already served by ${owner}`,
        );
      }
      hosts.set(host, upstream.name);
    }
  });
}

/** The names clients use for these endpoints; Docker Hub's endpoint stands for all its names. */
function hostsOf(endpoints: readonly string[]): string[] {
  const hosts: string[] = [];
  for (const endpoint of endpoints) {
    const host = new URL(endpoint).host.toLowerCase();
    if (isDockerHubHost(host)) hosts.push(...dockerHubHosts);
    else hosts.push(host);
  }
  return dedupe(hosts);
}

function nameFor(endpoint: string): string {
  const host = new URL(endpoint).host.toLowerCase();
  return isDockerHubHost(host) ? dockerHubUpstream.name : host.replace(/:/g, "-");
}

function dedupe<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
