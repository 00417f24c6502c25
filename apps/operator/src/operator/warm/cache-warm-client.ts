// Asks a mirror's cache to warm one image: POST /admin/v1/warm with the admin credential.
import { Agent, request } from "undici";
import type { AdminCredential } from "../render/admin-credential.js";
import type { WarmOutcome } from "./warm-queue.js";

/** Where a mirror's cache answers: its Service (https, the mirror's CA), or what a test says. */
export interface CacheAddress {
  url: string;
  /** PEM of the CA the cache's certificate is issued by; none: the system's. */
  caPem?: string;
}

/** Warming a large image takes minutes: the cache answers when every blob is stored. */
const warmTimeoutMs = 15 * 60_000;

export async function requestWarm(
  address: CacheAddress,
  credential: AdminCredential,
  image: string,
): Promise<WarmOutcome> {
  const dispatcher = new Agent({
    connect: address.caPem ? { ca: address.caPem } : {},
    headersTimeout: warmTimeoutMs,
    bodyTimeout: warmTimeoutMs,
  });
  try {
    const basic = Buffer.from(`${credential.username}:${credential.password}`).toString("base64");
    const response = await request(new URL("/admin/v1/warm", address.url), {
      method: "POST",
      dispatcher,
      headers: { authorization: `Basic ${basic}`, "content-type": "application/json" },
      body: JSON.stringify({ image }),
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) {
      throw new Error(`the cache answered ${response.statusCode}: ${text.slice(0, 300)}`);
    }
    const result = JSON.parse(text) as { downloadedBlobs?: number };
    return result.downloadedBlobs === 0 ? "already-cached" : "warmed";
  } finally {
    await dispatcher.close();
  }
}
