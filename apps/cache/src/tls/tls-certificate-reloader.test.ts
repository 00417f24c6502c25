import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { silentLogger } from "@regmirror/core";
import {
  makeCertificateAuthority,
  makeTempDirectory,
  removeTempDirectory,
} from "@regmirror/test-kit";
import { afterAll, expect, test } from "vitest";
import { sendRequest } from "../../test/daemon/https-request.js";
import { loadTlsOptions, watchTlsCertificate } from "./tls-certificate-reloader.js";

const directory = makeTempDirectory("regmirror-tls-reload-");
let server: Server | undefined;

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  await removeTempDirectory(directory);
});

test("a key that does not match the new certificate keeps the old pair; the matching key applies it", async () => {
  const authority = await makeCertificateAuthority();
  const first = await authority.issueServerCertificate(["127.0.0.1"]);
  const second = await authority.issueServerCertificate(["127.0.0.1"]);
  const files = {
    certificateFile: join(directory, "tls.crt"),
    keyFile: join(directory, "tls.key"),
    minimumVersion: "TLSv1.2" as const,
  };
  writeFileSync(files.certificateFile, first.certificatePem);
  writeFileSync(files.keyFile, first.keyPem);
  const initial = await loadTlsOptions(files);
  server = createServer(initial, (_request, response) => response.end("ok"));
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const warnings: string[] = [];
  const reloader = watchTlsCertificate({
    files,
    target: server,
    initial,
    // Reloads happen when this test asks, not when the watcher reacts to its writes.
    debounceMs: 3_600_000,
    logger: { ...silentLogger, warn: (_fields, message) => warnings.push(message) },
  });
  const fingerprint = async () =>
    (await sendRequest(url, "/", { ca: authority.certificatePem })).certificateFingerprint;
  const firstFingerprint = await fingerprint();

  // Half a rotation: the new certificate with the old key.
  writeFileSync(files.certificateFile, second.certificatePem);
  expect(await reloader.reload()).toBe(false);
  expect(warnings).toContain("TLS certificate or key cannot be loaded; keeping the previous pair");
  expect(await fingerprint()).toBe(firstFingerprint);

  writeFileSync(files.keyFile, second.keyPem);
  expect(await reloader.reload()).toBe(true);
  const secondFingerprint = await fingerprint();
  expect(secondFingerprint).not.toBe(firstFingerprint);
  // Nothing changed since: no reload.
  expect(await reloader.reload()).toBe(false);
  reloader.close();
});
