// The shipped images, built the way a release builds them (@regmirror/image-builder, no daemon)
// for this machine's platform only, and pushed to the node's image registry.
import { buildImages, pushImages } from "@regmirror/image-builder";
import { hostPlatform, makeTempDirectory, type UpstreamRegistry } from "@regmirror/test-kit";

export interface OperatorImages {
  operator: { repository: string; tag: string };
  cache: { repository: string; tag: string };
}

const tag = "e2e";

export async function pushOperatorImages(registry: UpstreamRegistry): Promise<OperatorImages> {
  const platform = `linux/${hostPlatform().architecture}` as "linux/amd64" | "linux/arm64";
  const repository = `${registry.host}/regmirror`;
  const started = Date.now();
  const result = await buildImages({
    images: ["regmirror-operator", "regmirror-cache"],
    platforms: [platform],
    outputDirectory: makeTempDirectory("regmirror-e2e-images-"),
    repository,
    version: tag,
  });
  await pushImages(result.images, { repository, insecure: true });
  console.log(`images built and pushed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return {
    operator: { repository: `${repository}/regmirror-operator`, tag },
    cache: { repository: `${repository}/regmirror-cache`, tag },
  };
}
