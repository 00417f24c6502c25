import { type AddressInfo, connect as connectTcp } from "node:net";
import { connect, createServer, type Server } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { makeCertificateAuthority } from "../src/index.js";

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(certificatePem: string, keyPem: string): Promise<number> {
  server = createServer({ cert: certificatePem, key: keyPem }, (socket) => socket.end("hello"));
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function handshake(port: number, ca: string, servername?: string): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const socket = connect(
      { host: "127.0.0.1", port, ca, ...(servername ? { servername } : {}) },
      () => {
        socket.once("data", (data) => {
          resolve(data.toString());
          socket.end();
        });
      },
    );
    socket.once("error", reject);
  });
}

describe("makeCertificateAuthority", () => {
  it("issues a server certificate that node:tls verifies for its IP and DNS names", async () => {
    const authority = await makeCertificateAuthority();
    const issued = await authority.issueServerCertificate(["127.0.0.1", "registry.example.test"]);
    const port = await serve(issued.certificatePem, issued.keyPem);
    expect(await handshake(port, authority.certificatePem)).toBe("hello");
    expect(await handshake(port, authority.certificatePem, "registry.example.test")).toBe("hello");
  });

  it("is refused for a name the certificate does not hold", async () => {
    const authority = await makeCertificateAuthority();
    const issued = await authority.issueServerCertificate(["127.0.0.1"]);
    const port = await serve(issued.certificatePem, issued.keyPem);
    await expect(handshake(port, authority.certificatePem, "other.example.test")).rejects.toThrow(
      /altnames|does not match/i,
    );
  });

  it("is refused by a client that trusts another CA", async () => {
    const authority = await makeCertificateAuthority();
    const stranger = await makeCertificateAuthority();
    const issued = await authority.issueServerCertificate(["127.0.0.1"]);
    const port = await serve(issued.certificatePem, issued.keyPem);
    await expect(handshake(port, stranger.certificatePem)).rejects.toThrow(/certificate/i);
    // The port still answers plain TCP: the refusal came from verification, not from a dead server.
    await new Promise<void>((resolve, reject) => {
      const socket = connectTcp(port, "127.0.0.1", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", reject);
    });
  });

  it("rejects an empty host list", async () => {
    const authority = await makeCertificateAuthority();
    await expect(authority.issueServerCertificate([])).rejects.toMatchObject({ code: "BAD_INPUT" });
  });
});
