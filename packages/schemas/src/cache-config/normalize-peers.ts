// regmirror.peers: the replicas that share one upstream download per digest, checked as a whole.
import type { CacheConfigFile } from "./cache-config-schema.js";
import { cacheConfigDefaults } from "./default-cache-config.js";
import type { PeersConfig } from "./effective-cache-config.js";
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
  const urls = peers.members.static;
  const seen = new Set<string>();
  for (const [index, url] of urls.entries()) {
    if (seen.has(url)) {
      problems.add([...path, "members", "static", index], "each replica URL once");
    }
    seen.add(url);
  }
  if (!seen.has(peers.self)) {
    problems.add(
      [...path, "self"],
      `one of regmirror.peers.members.static (${[...seen].join(", ")}): this replica's own URL as the others reach it`,
    );
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
    members: { kind: "static", urls: [...seen] },
    timeoutMs: peers.timeout ?? cacheConfigDefaults.peerTimeoutMs,
  };
}
