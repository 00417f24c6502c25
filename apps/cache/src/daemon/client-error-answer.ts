/**
 * What node:http does with a request it cannot parse (headers over `maxHeaderSize`, a broken
 * request line): answer it with a 4xx and the OCI error JSON, then close the connection.
 */
import type { Socket } from "node:net";

const answers: Record<string, { status: number; reason: string; code: string; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: "Request Header Fields Too Large",
    code: "SIZE_INVALID",
    message: "the request headers are too large",
  },
  HPE_URI_TOO_LONG: {
    status: 414,
    reason: "URI Too Long",
    code: "NAME_INVALID",
    message: "the request path is too long",
  },
};

export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable || error.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const answer = answers[error.code ?? ""] ?? {
    status: 400,
    reason: "Bad Request",
    code: "UNSUPPORTED",
    message: "the request could not be parsed",
  };
  const body = JSON.stringify({ errors: [{ code: answer.code, message: answer.message }] });
  socket.end(
    `HTTP/1.1 ${answer.status} ${answer.reason}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
