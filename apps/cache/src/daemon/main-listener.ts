/**
 * The registry listener. Without TLS: HTTP/1.1. With TLS: HTTP/2 next to HTTP/1.1, chosen per
 * connection by ALPN as distribution does (unless http.http2.disabled). Both kinds reach one
 * request handler through Node's HTTP/2 compatibility API. Draining closes idle HTTP/1.1
 * connections and sends every HTTP/2 session a GOAWAY, so requests under way can finish.
 */
import { createServer as createHttpServer, type Server } from "node:http";
import { createSecureServer, type Http2SecureServer, type Http2Session } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { SecureContextOptions } from "node:tls";
import type { RequestListener } from "./cache-request-handler.js";

export interface MainListener {
  /** What listens; with TLS it also takes new certificates (setSecureContext). */
  readonly server: Server;
  readonly protocol: "http" | "https";
  /** Closes idle HTTP/1.1 connections and sends HTTP/2 sessions a GOAWAY (idempotent). */
  closeIdle(): void;
  /** Cuts every connection, busy or not. */
  closeAll(): void;
}

export interface MainListenerOptions {
  /** The certificate and key; undefined: plain HTTP. */
  tls: SecureContextOptions | undefined;
  /** Offer HTTP/2 on the TLS listener. */
  http2: boolean;
  /** Largest HTTP/1.1 request head (larger: clientError HPE_HEADER_OVERFLOW → 431). */
  maxHeaderSize: number;
  onRequest: RequestListener;
  onClientError: (error: Error, socket: Socket) => void;
}

export function createMainListener(options: MainListenerOptions): MainListener {
  const { tls, maxHeaderSize } = options;
  if (tls === undefined || !options.http2) {
    const server =
      tls === undefined
        ? createHttpServer({ maxHeaderSize })
        : (createHttpsServer({ ...tls, maxHeaderSize }) as unknown as Server);
    server.on("request", options.onRequest);
    server.on("clientError", options.onClientError);
    return {
      server,
      protocol: tls === undefined ? "http" : "https",
      closeIdle: () => server.closeIdleConnections(),
      closeAll: () => server.closeAllConnections(),
    };
  }

  // maxHeaderSize reaches the HTTP/1.1 parser of an HTTP/2 server too (not in @types/node).
  const server: Http2SecureServer = createSecureServer({
    ...tls,
    allowHTTP1: true,
    ...({ maxHeaderSize } as object),
  });
  const sessions = new Set<Http2Session>();
  const sockets = new Set<Socket>();
  server.on("session", (session: Http2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  server.on("secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  // A client that breaks the HTTP/2 protocol loses its session; the daemon goes on.
  server.on("sessionError", () => {});
  server.on("request", options.onRequest as never);
  server.on("clientError", options.onClientError);
  return {
    server: server as unknown as Server,
    protocol: "https",
    closeIdle() {
      // HTTP/1.1 connections of an HTTP/2 server are tracked like an http.Server's.
      (server as unknown as Server).closeIdleConnections();
      for (const session of sessions) if (!session.closed) session.close();
    },
    closeAll() {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    },
  };
}
