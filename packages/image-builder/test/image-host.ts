// The images as users get them: pushed with the builder's own client to a real docker-registry
// on loopback, and pulled from there by a real containerd (Debian's 1.6), ready for `ctr run`.
import {
  type Containerd,
  startContainerd,
  startUpstreamRegistry,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { type ImageName, pushImages } from "../src/index.js";
import { imageUnderTest } from "./images-under-test.js";

export interface ImageHost {
  registry: UpstreamRegistry;
  containerd: Containerd;
  /** The name containerd holds each image under: `127.0.0.1:PORT/regmirror/<name>:<tag>`. */
  references: Partial<Record<ImageName, string>>;
  stop(): Promise<void>;
}

export async function startImageHost(names: readonly ImageName[]): Promise<ImageHost> {
  const registry = await startUpstreamRegistry();
  let containerd: Containerd | undefined;
  try {
    const images = await Promise.all(names.map((name) => imageUnderTest(name)));
    await pushImages(images, { repository: `${registry.host}/regmirror`, insecure: true });
    containerd = await startContainerd();
    const references: Partial<Record<ImageName, string>> = {};
    for (const image of images) {
      const reference = `${registry.host}/regmirror/${image.name}:${image.tag}`;
      await containerd.pull(reference, { plainHttp: true });
      references[image.name] = reference;
    }
    const started = containerd;
    return {
      registry,
      containerd: started,
      references,
      async stop() {
        await started.stop();
        await registry.stop();
      },
    };
  } catch (error) {
    await containerd?.stop();
    await registry.stop();
    throw error;
  }
}
