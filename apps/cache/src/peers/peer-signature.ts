/**
 * Requests between cache replicas carry `Regmirror-Peer: <sender> <unix seconds> <HMAC>`: an
 * HMAC-SHA256 with the shared secret over the method, the path with its query, the sender and
 * the time. The secret itself never travels; a signature is good for five minutes and for that
 * one request line only (docs/adr/0033-cache-peers.md).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const peerHeader = "regmirror-peer";

/** How far apart the clocks of two replicas and a request's age may be. */
const allowedSkewSeconds = 300;

function mac(secret: string, method: string, path: string, sender: string, seconds: number) {
  return createHmac("sha256", secret)
    .update(`${method.toUpperCase()}\n${path}\n${sender}\n${seconds}`)
    .digest();
}

export function signPeerRequest(
  secret: string,
  request: { method: string; path: string; sender: string; nowMs: number },
): string {
  const seconds = Math.floor(request.nowMs / 1000);
  const signature = mac(secret, request.method, request.path, request.sender, seconds);
  return `${request.sender} ${seconds} ${signature.toString("hex")}`;
}

/** The sender of a correctly signed request, or why the signature is refused (never the secret). */
export type PeerSignatureCheck =
  | { readonly valid: true; readonly sender: string }
  | { readonly valid: false; readonly reason: string };

export function verifyPeerRequest(
  secret: string,
  header: string,
  request: { method: string; path: string; nowMs: number },
): PeerSignatureCheck {
  const parts = header.trim().split(" ");
  const [sender, secondsText, hex] = parts;
  if (
    parts.length !== 3 ||
    sender === undefined ||
    !/^\d+$/.test(secondsText ?? "") ||
    !/^[0-9a-f]{64}$/.test(hex ?? "")
  ) {
    return {
      valid: false,
      reason: `the ${peerHeader} header is not "<sender> <seconds> <signature>"`,
    };
  }
  const seconds = Number(secondsText);
  if (Math.abs(request.nowMs / 1000 - seconds) > allowedSkewSeconds) {
    return { valid: false, reason: "the peer signature is too old or from the future" };
  }
  const expected = mac(secret, request.method, request.path, sender, seconds);
  const given = Buffer.from(hex ?? "", "hex");
  if (!timingSafeEqual(expected, given)) {
    return { valid: false, reason: "the peer signature does not match this cache's peer secret" };
  }
  return { valid: true, sender };
}
