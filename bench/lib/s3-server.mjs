// versitygw (the tests' S3 server, built by `npm test` from scripts/go-tools.json) for benches.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { cacheDirectory, repositoryRoot } from "../../scripts/lib/paths.mjs";
import { freePort } from "./ports.mjs";
import { startProcess, waitUntilReady } from "./processes.mjs";
import { request } from "./undici.mjs";

function versitygwBinary() {
  const { tools } = JSON.parse(readFileSync(join(repositoryRoot, "scripts/go-tools.json"), "utf8"));
  const tool = tools.find((entry) => entry.name === "versitygw");
  return join(cacheDirectory(), "tools", `versitygw-${tool.version}`, "bin", "versitygw");
}

/**
 * versitygw's posix backend on loopback with `bucket` made (a bucket is a top-level directory
 * of its root); random root credentials, passed through the environment.
 */
export async function startS3(workDirectory, bucket) {
  const port = await freePort();
  const root = join(workDirectory, "s3");
  await mkdir(join(root, bucket), { recursive: true });
  const accessKeyId = `bench${randomBytes(6).toString("hex")}`;
  const secretAccessKey = randomBytes(24).toString("base64url");
  const endpoint = `http://127.0.0.1:${port}`;
  const child = startProcess({
    name: "versitygw",
    command: versitygwBinary(),
    args: ["--port", `127.0.0.1:${port}`, "--region", "us-east-1", "--quiet", "posix", root],
    cwd: root,
    logPath: join(workDirectory, "versitygw.log"),
    env: {
      ...process.env,
      ROOT_ACCESS_KEY_ID: accessKeyId,
      ROOT_SECRET_ACCESS_KEY: secretAccessKey,
    },
  });
  await waitUntilReady(child, async () => {
    try {
      const response = await request(endpoint);
      await response.body.dump();
      return true;
    } catch {
      return false;
    }
  });
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    /** Another empty bucket. */
    makeBucket: (name) => mkdir(join(root, name), { recursive: true }),
    stop: () => child.stop(),
  };
}
