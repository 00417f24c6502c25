/**
 * Signed requests to another replica (peer-signature.ts), bounded in time: the answer's head
 * within `answerWithinMs`, then no silence longer than `silenceMs` inside the body. Deadlines
 * against a hung peer run on real time on purpose (docs/adr/0016-upstream-bounds-and-circuit-breaker.md).
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { peerHeader, signPeerRequest } from "./peer-signature.js";

export interface PeerClientOptions {
  /** This replica's URL, named in the signature. */
  self: string;
  secret: string;
  answerWithinMs: number;
  silenceMs: number;
  /** Aborts every request (the storage closes). */
  signal: AbortSignal;
  /** https members: the CA to trust and the name their certificates carry. */
  tls?: PeerTls | undefined;
}

export interface PeerTls {
  ca: string;
  /** Checked against the certificate instead of the address dialled (pods are dialled by IP). */
  serverName: string | undefined;
}

export class PeerAnswerError extends Error {
  override readonly name = "PeerAnswerError";
}

export type PeerClient = (
  member: string,
  method: "GET" | "HEAD",
  path: string,
  headers?: Record<string, string>,
) => Promise<IncomingMessage>;

export function createPeerClient(options: PeerClientOptions): PeerClient {
  return (member, method, target, extraHeaders = {}) => {
    const url = new URL(target, member);
    const path = `${url.pathname}${url.search}`;
    const headers: Record<string, string> = {
      ...extraHeaders,
      // Signatures carry real time: the other replica checks them against its own clock.
      [peerHeader]: signPeerRequest(options.secret, {
        method,
        path,
        sender: options.self,
        nowMs: Date.now(),
      }),
      "user-agent": "regmirror-cache peer",
    };
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const tls =
        options.tls === undefined
          ? {}
          : {
              ca: options.tls.ca,
              ...(options.tls.serverName === undefined
                ? {}
                : { servername: options.tls.serverName }),
            };
      const request = send(url, { method, headers, signal: options.signal, ...tls }, (response) => {
        clearTimeout(answerTimer);
        request.setTimeout(options.silenceMs, () =>
          request.destroy(new PeerAnswerError(`silent for ${options.silenceMs} ms`)),
        );
        resolve(response);
      });
      const answerTimer = setTimeout(
        () => request.destroy(new PeerAnswerError(`no answer within ${options.answerWithinMs} ms`)),
        options.answerWithinMs,
      );
      request.on("error", (error) => {
        clearTimeout(answerTimer);
        reject(error);
      });
      request.end();
    });
  };
}

/** The order replicas are asked in for a key: its ranking up to this replica, which stands for upstream. */
export function askingOrder(ranked: readonly string[], self: string): string[] {
  const selfAt = ranked.indexOf(self);
  return selfAt < 0 ? [...ranked, self] : ranked.slice(0, selfAt + 1);
}
