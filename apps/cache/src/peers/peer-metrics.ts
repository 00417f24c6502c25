// What the peers count (Prometheus names in metrics/cache-metrics.ts); hooks are cheap and never throw.

export interface PeerMetrics {
  /** A blob this replica missed came from a peer (`member`: the owner, or the next in line). */
  peerHit(member: string): void;
  /** A peer asked for a blob failed (down, slow, refused): the next one was asked. */
  peerMiss(member: string, reason: string): void;
  /** This replica ran an upstream fill as the owner (for its own clients or for a peer). */
  ownerFill(): void;
  /** No peer could give the blob: this replica fetched it from upstream itself. */
  fallbackToUpstream(): void;
  /** The member list changed (`members`: how many now). */
  membershipChanged(members: number): void;
  /** Reading the member list failed (`source`: kubernetes, dns): the last list is kept. */
  membershipReadFailed(source: string): void;
  /** Bytes received from peers. */
  bytesFromPeers(bytes: number): void;
}

export const noopPeerMetrics: PeerMetrics = {
  peerHit() {},
  peerMiss() {},
  ownerFill() {},
  fallbackToUpstream() {},
  membershipChanged() {},
  membershipReadFailed() {},
  bytesFromPeers() {},
};
