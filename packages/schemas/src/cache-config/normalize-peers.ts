// regmirror.peers: the replicas that share one upstream download per digest, checked as a whole.
import type { CacheConfigFile } from "./cache-config-schema.js";
import { cacheConfigDefaults } from "./default-cache-config.js";
import type { PeerMembersSource, PeersConfig } from "./effective-cache-config.js";
import type { ProblemCollector } from "./problem-collector.js";

/** Shorter secrets can be guessed; 32 random bytes in base64 are 44 characters. */
export const minimumPeerSecretLength = 32;

export function normalizePeers(
  file: CacheConfigFile,
  problems: ProblemCollector,
): PeersConfig | null {
  const peers = file.regmirror?.peers;
  if (peers === undefined) return null;
  const path = ["regmirror", "peers"];
  const members = membersSource(peers.members, problems);
  if (peers.members.static !== undefined && members.kind === "static") {
    checkStaticMembers(peers.self, members.urls, problems);
  }
  if (peers.secret.reveal().length < minimumPeerSecretLength) {
    problems.add(
      [...path, "secret"],
      `a secret of at least ${minimumPeerSecretLength} characters (e.g. \`openssl rand -base64 32\`), the same on every replica`,
    );
  }
  return {
    self: peers.self,
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

type MembersInput = NonNullable<NonNullable<CacheConfigFile["regmirror"]>["peers"]>["members"];

function membersSource(members: MembersInput, problems: ProblemCollector): PeerMembersSource {
  const path = ["regmirror", "peers", "members"];
  const { kubernetes } = members;
  if ((members.static === undefined) === (kubernetes === undefined)) {
    problems.add(
      path,
      "one source of members: static (a list of URLs) or kubernetes (a Service's EndpointSlices)",
    );
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
