// A small node:https / node:http client for requests skopeo and containerd would not send
// (bad input, raw paths, ranges) and for reading the certificate a server presents.
import { createHash, X509Certificate } from "node:crypto";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { TLSSocket } from "node:tls";

export interface HttpAnswer {
  status: number;
  headers: IncomingMessage["headers"];
  body: Buffer;
  /** SHA-256 fingerprint of the server certificate (https only). */
  certificateFingerprint?: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  ca?: string;
  body?: string;
  /** The name to check the server's certificate against (default: the host dialled). */
  servername?: string;
}

/** The `Authorization` header of Basic credentials. */
export function basicAuthorization(user: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`;
}

/**
 * Sends one request on a new connection (`path` exactly as given) and hands the response to
 * `onResponse`; a failed connection rejects.
 */
function openRequest<T>(
  baseUrl: string,
  path: string,
  options: RequestOptions,
  onResponse: (
    response: IncomingMessage,
    resolve: (value: T) => void,
    reject: (error: Error) => void,
  ) => void,
): Promise<T> {
  const url = new URL(baseUrl);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: options.method ?? "GET",
        headers: options.headers ?? {},
        agent: false,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        ...(options.servername === undefined ? {} : { servername: options.servername }),
      },
      (response) => onResponse(response, resolve, reject),
    );
    request.on("error", reject);
    request.end(options.body);
  });
}

/** SHA-256 fingerprint of the certificate the server presented (https only). */
function peerFingerprint(response: IncomingMessage): string | undefined {
  const socket = response.socket as TLSSocket;
  return typeof socket.getPeerX509Certificate === "function"
    ? socket.getPeerX509Certificate()?.fingerprint256
    : undefined;
}

/** Sends one request on a new connection; `path` is sent exactly as given. */
export function sendRequest(
  baseUrl: string,
  path: string,
  options: RequestOptions = {},
): Promise<HttpAnswer> {
  return openRequest(baseUrl, path, options, (response, resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("error", reject);
    response.on("end", () => {
      const certificateFingerprint = peerFingerprint(response);
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        body: Buffer.concat(chunks),
        ...(certificateFingerprint === undefined ? {} : { certificateFingerprint }),
      });
    });
  });
}

export function fingerprintOf(certificatePem: string): string {
  return new X509Certificate(certificatePem).fingerprint256;
}

/** A GET whose body is read only when `resume()` is called: an in-flight download. */
export interface PausedDownload {
  status: number;
  certificateFingerprint: string | undefined;
  /** Reads the rest and resolves with the SHA-256 digest of the whole body. */
  resume(): Promise<string>;
}

export function startPausedDownload(
  baseUrl: string,
  path: string,
  ca?: string,
): Promise<PausedDownload> {
  return openRequest(baseUrl, path, { ca }, (response, resolve) => {
    response.pause();
    const hash = createHash("sha256");
    resolve({
      status: response.statusCode ?? 0,
      certificateFingerprint: peerFingerprint(response),
      resume: () =>
        new Promise((done, fail) => {
          response.on("data", (chunk: Buffer) => hash.update(chunk));
          response.on("error", fail);
          response.on("aborted", () => fail(new Error("the download was cut")));
          response.on("end", () =>
            response.complete
              ? done(`sha256:${hash.digest("hex")}`)
              : fail(new Error("the download was cut")),
          );
          response.resume();
        }),
    });
  });
}
