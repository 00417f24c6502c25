// The images as users get them: pushed with the builder's own client to a real docker-registry
// on loopback, and pulled from there by a real containerd (Debian's 1.6), ready for `ctr run`.
import {
  type Containerd,
  httpGetStatus,
  type RunningContainer,
  startContainerd,
  startUpstreamRegistry,
  type UpstreamRegistry,
  waitUntilReady,
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

/** Waits until `url` answers 200; fails with the container's output if it exits or never does. */
export async function waitForHttp200(
  what: string,
  url: string,
  container: RunningContainer,
  ca?: string,
) {
  await waitUntilReady(
    what,
    async () => {
      if (container.exitCode() !== undefined) {
        throw new Error(`${what} exited with ${container.exitCode()}:\n${container.output()}`);
      }
      return (await httpGetStatus(url, ca ? { ca } : {})) === 200;
    },
    // Starting a container takes seconds here, more when the machine is busy.
    { timeoutMs: 90_000 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${what} wrote:\n${container.output()}`);
  });
}
