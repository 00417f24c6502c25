/**
 * Whether the request being served came from another replica with a valid signature. A peer's
 * request is served by this replica itself (it is the owner, or the next in line): it is never
 * passed on again, so two replicas cannot send one request round in circles.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface PeerMark {
  /** Set by the authorize stage once the signature is verified. */
  fromPeer: boolean;
}

const currentMark = new AsyncLocalStorage<PeerMark>();

/** Runs the handling of one request with its mark, which the authorize stage may set. */
export function runWithPeerMark<T>(mark: PeerMark, work: () => T): T {
  return currentMark.run(mark, work);
}

export function currentPeerMark(): PeerMark | undefined {
  return currentMark.getStore();
}

export function servingPeerRequest(): boolean {
  return currentMark.getStore()?.fromPeer === true;
}
