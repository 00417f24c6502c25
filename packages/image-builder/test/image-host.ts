// The images as users get them: pushed with the builder's own client to a real docker-registry
// on loopback, and pulled from there by a real containerd (Debian's 1.6), ready for `ctr run`.
import {
  type Containerd,
  freePort,
  httpGetStatus,
  type RunningContainer,
  retryOnAddressInUse,
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

/**
 * Waits until `url` answers 200. Fails with the container's output, and stops it, when it exits
 * first (at once: it will never answer) or does not answer in time.
 */
export async function waitForHttp200(
  what: string,
  url: string,
  container: RunningContainer,
  ca?: string,
) {
  try {
    await waitUntilReady(
      what,
      // An exited container ends the wait; the check below says so.
      async () =>
        container.exitCode() !== undefined || (await httpGetStatus(url, ca ? { ca } : {})) === 200,
      // Starting a container takes seconds here, more when the machine is busy.
      { timeoutMs: 90_000 },
    );
    if (container.exitCode() !== undefined) {
      throw new Error(`${what} exited with ${container.exitCode()} before it answered`);
    }
  } catch (error) {
    await container.stop();
    throw new Error(`${(error as Error).message}\n${what} wrote:\n${container.output()}`, {
      cause: error,
    });
  }
}

/**
 * Starts a container that listens on a free port of the host's network, ready once it answers.
 * The port is picked before the container binds it, so another process may take it meanwhile:
 * the container then exits with "address already in use" and starts again on a new port.
 */
export function startOnFreePort<T>(what: string, start: (port: number) => Promise<T>): Promise<T> {
  return retryOnAddressInUse(what, async () => start(await freePort()));
}
