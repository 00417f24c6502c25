// regmirror.peers: the replicas that share one upstream download per digest, checked as a whole.
import type { CacheConfigFile } from "./cache-config-schema.js";
import { cacheConfigDefaults } from "./default-cache-config.js";
import type { PeerMembersSource, PeersConfig } from "./effective-cache-config.js";
import type { ListenAddress } from "./listen-address.js";
import type { ProblemCollector } from "./problem-collector.js";

/** Shorter secrets can be guessed; 32 random bytes in base64 are 44 characters. */
export const minimumPeerSecretLength = 32;

/**
 * A replica's URL from an address and port: IPv6 in brackets (`https://[fd00::5]:5000`), in the
 * URL's own canonical form, so that a URL built from a DNS answer, an EndpointSlice or a pod IP
 * is the same string for the same replica (ownership hashes the string).
 */
export function peerMemberUrl(scheme: "http" | "https", address: string, port: number): string {
  const host = address.includes(":") ? `[${address}]` : address;
  return new URL(`${scheme}://${host}:${port}`).origin;
}

export function normalizePeers(
  file: CacheConfigFile,
  listen: ListenAddress,
  problems: ProblemCollector,
): PeersConfig | null {
  const peers = file.regmirror?.peers;
  if (peers === undefined) return null;
  const path = ["regmirror", "peers"];
  const members = membersSource(peers.members, problems);
  const self = selfUrl(peers, listen, file.http?.tls !== undefined, problems);
  if (peers.members.static !== undefined && members.kind === "static") {
    checkStaticMembers(self, members.urls, problems);
  }
  if (peers.secret.reveal().length < minimumPeerSecretLength) {
    problems.add(
      [...path, "secret"],
      `a secret of at least ${minimumPeerSecretLength} characters (e.g. \`openssl rand -base64 32\`), the same on every replica`,
    );
  }
  return {
    self,
    secret: peers.secret,
    members:
      members.kind === "static" ? { kind: "static", urls: [...new Set(members.urls)] } : members,
    timeoutMs: peers.timeout ?? cacheConfigDefaults.peerTimeoutMs,
    tls:
      peers.tls === undefined
        ? null
        : { caFile: peers.tls.caFile, serverName: peers.tls.serverName ?? null },
  };
}

type PeersInput = NonNullable<NonNullable<CacheConfigFile["regmirror"]>["peers"]>;

/** `self`, or the URL this replica's listener has at `selfAddress` (the pod IP, either family). */
function selfUrl(
  peers: PeersInput,
  listen: ListenAddress,
  tls: boolean,
  problems: ProblemCollector,
): string {
  const path = ["regmirror", "peers"];
  if ((peers.self === undefined) === (peers.selfAddress === undefined)) {
    problems.add(
      [...path, "self"],
      "this replica's URL (self) or its address (selfAddress, e.g. the pod IP), one of the two",
    );
  }
  if (peers.self !== undefined || peers.selfAddress === undefined) return peers.self ?? "";
  if (listen.port === 0) {
    problems.add(
      [...path, "selfAddress"],
      "http.addr with a port other than 0 (the URL built from selfAddress uses it)",
    );
  }
  return peerMemberUrl(tls ? "https" : "http", peers.selfAddress, listen.port);
}

type MembersInput = PeersInput["members"];

function membersSource(members: MembersInput, problems: ProblemCollector): PeerMembersSource {
  const path = ["regmirror", "peers", "members"];
  const { kubernetes, dns } = members;
  // Counted in what the user wrote: a source with a refused field is reported for that field alone.
  const sources = ["static", "kubernetes", "dns"].filter((key) => problems.given([...path, key]));
  if (sources.length !== 1) {
    problems.add(
      path,
      "one source of members: static (a list of URLs), kubernetes (a Service's EndpointSlices) or dns (a headless Service's name)",
    );
  }
  if (dns !== undefined) {
    return {
      kind: "dns",
      name: dns.name,
      port: dns.port,
      scheme: dns.scheme ?? "http",
      intervalMs: dns.interval ?? cacheConfigDefaults.peerMembersIntervalMs,
      server: dns.server ?? null,
    };
  }
  if (kubernetes === undefined) return { kind: "static", urls: members.static ?? [] };
  const accounts = cacheConfigDefaults.serviceAccountDirectory;
  return {
    kind: "kubernetes",
    namespace: kubernetes.namespace,
    service: kubernetes.service,
    portName: kubernetes.portName ?? null,
    scheme: kubernetes.scheme ?? "http",
    intervalMs: kubernetes.interval ?? cacheConfigDefaults.peerMembersIntervalMs,
    apiServer: kubernetes.apiServer ?? cacheConfigDefaults.kubernetesApiServer,
    tokenFile: kubernetes.tokenFile ?? `${accounts}/token`,
    caFile: kubernetes.caFile ?? `${accounts}/ca.crt`,
  };
}

function checkStaticMembers(self: string, urls: readonly string[], problems: ProblemCollector) {
  const path = ["regmirror", "peers"];
  const seen = new Set<string>();
  for (const [index, url] of urls.entries()) {
    if (seen.has(url)) {
      problems.add([...path, "members", "static", index], "each replica URL once");
    }
    seen.add(url);
  }
  if (!seen.has(self)) {
    problems.add(
      [...path, "self"],
      `one of regmirror.peers.members.static (${[...seen].join(", ")}): this replica's own URL as the others reach it`,
    );
  }
}
