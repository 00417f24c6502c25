// What cache tests on S3 start first: a real upstream holding one test image as `team/app:v1`,
// and a real S3 server (versitygw) with one bucket; plus the storage YAML and a metric reader.
import {
  buildTestImage,
  pushTestImage,
  type S3Server,
  startS3Server,
  startUpstreamRegistry,
  stopAll,
  type TestImage,
  type UpstreamRegistry,
  type UpstreamRegistryOptions,
} from "@regmirror/test-kit";
import { sendRequest } from "./https-request.js";

export interface S3CacheSetup {
  upstream: UpstreamRegistry;
  s3: S3Server;
  image: TestImage;
  /** `regmirror.storage.s3` of the bucket, indented under `storage:` (static credentials). */
  s3Yaml: string;
  stop(): Promise<void>;
}

export async function startS3CacheSetup(options: {
  seed: string;
  layers: number[];
  bucket: string;
  upstream?: UpstreamRegistryOptions;
  /** Who pushes the image (an upstream with auth). */
  pusher?: { username: string; password: string };
}): Promise<S3CacheSetup> {
  const [upstream, s3] = await Promise.all([
    startUpstreamRegistry(options.upstream),
    startS3Server(),
  ]);
  await s3.createBucket(options.bucket);
  const image = await buildTestImage({ seed: options.seed, layers: options.layers });
  await pushTestImage(image, upstream, "team/app", { ...options.pusher, tag: "v1" });
  const s3Yaml = `    s3:
      bucket: ${options.bucket}
      region: ${s3.region}
      endpoint: ${s3.endpoint}
      forcePathStyle: true
      credentials: { mode: static, accessKeyId: ${s3.accessKeyId}, secretAccessKey: ${s3.secretAccessKey} }`;
  return { upstream, s3, image, s3Yaml, stop: () => stopAll(s3, upstream) };
}

/** A counter or gauge of a cache's /metrics, summed over its label sets (0 when absent). */
export async function metricOf(cacheUrl: string, name: string): Promise<number> {
  const text = (await sendRequest(cacheUrl, "/metrics")).body.toString("utf8");
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}
