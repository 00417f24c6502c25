// versitygw as a real S3 server on loopback (ADR 0005).
import { createHash, createHmac, randomBytes } from "node:crypto";
import type { Logger } from "@regmirror/core";
import { TestKitError } from "./errors.js";
import { freePort, retryOnAddressInUse } from "./free-port.js";
import { kitLogger } from "./kit-logger.js";
import { startTrackedProcess, waitUntilReady } from "./processes.js";
import { makeTempDirectory, removeTempDirectory } from "./temp-directory.js";
import { toolPath } from "./tool-path.js";

export interface S3ServerOptions {
  /** Default: "us-east-1". */
  region?: string;
  /** Told when the free port was taken before the server bound it; default stderr. */
  logger?: Logger;
}

export interface S3Server {
  /** `http://127.0.0.1:PORT`; use path-style addressing. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The directory the server keeps buckets in (one sub-directory per bucket). */
  rootDirectory: string;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a real S3-compatible server (versitygw with its posix backend, built by the test
 * command from scripts/go-tools.json; see docs/adr/0005-s3-test-server.md) on 127.0.0.1 with a
 * fresh temp directory and random root credentials. Call `stop()` in afterAll.
 */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  return await retryOnAddressInUse(
    "versitygw",
    async () => startS3ServerOn(await freePort(), options),
    { logger: options.logger ?? kitLogger },
  );
}

async function startS3ServerOn(port: number, options: S3ServerOptions): Promise<S3Server> {
  const binary = toolPath("versitygw");
  const region = options.region ?? "us-east-1";
  const accessKeyId = `test${randomBytes(8).toString("hex")}`;
  const secretAccessKey = randomBytes(24).toString("base64url");
  const rootDirectory = makeTempDirectory("regmirror-s3-");
  const endpoint = `http://127.0.0.1:${port}`;
  const server = startTrackedProcess({
    name: "versitygw",
    command: binary,
    args: ["--port", `127.0.0.1:${port}`, "--region", region, "--quiet", "posix", rootDirectory],
    cwd: rootDirectory,
    // Credentials go through the environment, so they never show in `ps`.
    env: {
      ...process.env,
      ROOT_ACCESS_KEY_ID: accessKeyId,
      ROOT_SECRET_ACCESS_KEY: secretAccessKey,
    },
  });
  const stop = async () => {
    await server.stop();
    await removeTempDirectory(rootDirectory);
  };
  try {
    // Any HTTP answer (an anonymous request gets 403) means the server is listening.
    await waitUntilReady(
      "versitygw",
      async () => (await fetch(endpoint, { signal: AbortSignal.timeout(2_000) })).status > 0,
      { process: server },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    rootDirectory,
    async createBucket(name) {
      const response = await signedRequest("PUT", `${endpoint}/${encodeURIComponent(name)}`, {
        region,
        accessKeyId,
        secretAccessKey,
      });
      if (response.status !== 200) {
        throw new TestKitError(
          "COMMAND_FAILED",
          `creating bucket ${name} failed with HTTP ${response.status}: ${await response.text()}`,
        );
      }
      await response.body?.cancel();
    },
    stop,
  };
}

interface Signer {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const emptyBodyHash = createHash("sha256").update("").digest("hex");

/** An AWS Signature V4 request without a body (enough for CreateBucket; no SDK in the kit). */
async function signedRequest(method: string, url: string, signer: Signer): Promise<Response> {
  const target = new URL(url);
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${signer.region}/s3/aws4_request`;
  const headers: Record<string, string> = {
    host: target.host,
    "x-amz-content-sha256": emptyBodyHash,
    "x-amz-date": amzDate,
  };
  const signedHeaders = Object.keys(headers).sort().join(";");
  const canonicalRequest = [
    method,
    target.pathname,
    "",
    ...Object.keys(headers)
      .sort()
      .map((name) => `${name}:${headers[name]}`),
    "",
    signedHeaders,
    emptyBodyHash,
  ].join("\n");
  const stringToSign = [
    "AWS4-HMAC-SHA256",
    amzDate,
    scope,
    createHash("sha256").update(canonicalRequest).digest("hex"),
  ].join("\n");
  let key: Buffer = createHmac("sha256", `AWS4${signer.secretAccessKey}`).update(day).digest();
  for (const part of [signer.region, "s3", "aws4_request"]) {
    key = createHmac("sha256", key).update(part).digest();
  }
  const signature = createHmac("sha256", key).update(stringToSign).digest("hex");
  const { host: _host, ...sentHeaders } = headers;
  return await fetch(target, {
    method,
    headers: {
      ...sentHeaders,
      authorization: `AWS4-HMAC-SHA256 Credential=${signer.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    },
    signal: AbortSignal.timeout(10_000),
  });
}
