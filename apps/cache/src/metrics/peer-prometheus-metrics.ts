// The peers' series in Prometheus (regmirror_cache_peer_*): hits, misses, owner fills, fallbacks, membership.
import { Counter, Gauge, type Registry } from "prom-client";
import type { PeerMetrics } from "../peers/peer-metrics.js";

const prefix = "regmirror_cache_peer_";

export function createPeerPrometheusMetrics(registry: Registry): PeerMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name: `${prefix}${name}`, help, labelNames, registers: [registry] });
  const hits = counter("hits_total", "Content this replica missed and got from another replica", [
    "peer",
  ]);
  const misses = counter(
    "misses_total",
    "Requests to another replica that failed (the next one was asked), by replica and reason",
    ["peer", "reason"],
  );
  const ownerFills = counter(
    "owner_fills_total",
    "Upstream fills this replica ran as a digest's owner (for its clients or a peer's)",
  );
  const fallbacks = counter(
    "upstream_fallbacks_total",
    "Content another replica owns that this one fetched from upstream: none before it could give it",
  );
  const changes = counter(
    "membership_changes_total",
    "Changes of the member list (the first list counts as one)",
  );
  const readFailures = counter(
    "membership_read_failures_total",
    "Reads of the member list that failed (the last list was kept), by source",
    ["source"],
  );
  const bytes = counter("received_bytes_total", "Blob bytes received from other replicas");
  const members = new Gauge({
    aggregator: "first",
    name: `${prefix}members`,
    help: "Replicas in the member list, this one included",
    registers: [registry],
  });
  return {
    peerHit: (peer) => hits.inc({ peer }),
    peerMiss: (peer, reason) => misses.inc({ peer, reason }),
    ownerFill: () => ownerFills.inc(),
    fallbackToUpstream: () => fallbacks.inc(),
    membershipChanged(count) {
      changes.inc();
      members.set(count);
    },
    membershipReadFailed: (source) => readFailures.inc({ source }),
    bytesFromPeers: (count) => bytes.inc(count),
  };
}
