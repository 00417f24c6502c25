// The peers' counters in Prometheus (regmirror_cache_peer_*): hits, misses, owner fills, fallbacks, membership.
import { Counter, Gauge, type Registry } from "prom-client";
import type { PeerMetrics } from "../peers/peer-metrics.js";

const prefix = "regmirror_cache_peer_";

export function createPeerPrometheusMetrics(registry: Registry): PeerMetrics {
  const hits = new Counter({
    name: `${prefix}hits_total`,
    help: "Blobs this replica missed and got from another replica, by replica",
    labelNames: ["peer"],
    registers: [registry],
  });
  const misses = new Counter({
    name: `${prefix}misses_total`,
    help: "Requests to another replica that failed (the next one was asked), by replica and reason",
    labelNames: ["peer", "reason"],
    registers: [registry],
  });
  const ownerFills = new Counter({
    name: `${prefix}owner_fills_total`,
    help: "Upstream fills this replica ran as a digest's owner (for its clients or a peer's)",
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: `${prefix}upstream_fallbacks_total`,
    help: "Blobs another replica owns that this replica fetched from upstream, no replica before it having given them",
    registers: [registry],
  });
  const changes = new Counter({
    name: `${prefix}membership_changes_total`,
    help: "Changes of the member list (the first list counts as one)",
    registers: [registry],
  });
  const members = new Gauge({
    name: `${prefix}members`,
    help: "Replicas in the member list, this one included",
    registers: [registry],
  });
  const bytes = new Counter({
    name: `${prefix}received_bytes_total`,
    help: "Blob bytes received from other replicas",
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
    bytesFromPeers: (count) => bytes.inc(count),
  };
}
