// Caches whose configuration names their own port or each other's (a token `host`, replicas
// listing their peers), so cannot listen on port 0: started on ports picked free just before, and
// all again on new ports when another process took one of them first.
import { freePort, retryOnAddressInUse, type Stoppable, stopAll } from "@regmirror/test-kit";

/**
 * Picks `portCount` free ports and starts what `startAll(ports)` starts on them. When one start
 * fails because its port was taken, the others that started are stopped and all start again on
 * new ports (the kit's `retryOnAddressInUse`); any other failure stops them and is thrown.
 */
export function startOnFreePorts<T extends Stoppable>(
  what: string,
  portCount: number,
  startAll: (ports: number[]) => Promise<T>[],
): Promise<T[]> {
  return retryOnAddressInUse(what, async () => {
    const ports = await Promise.all(Array.from({ length: portCount }, () => freePort()));
    const results = await Promise.allSettled(startAll(ports));
    const started = results.flatMap((result) =>
      result.status === "fulfilled" ? [result.value] : [],
    );
    const failed = results.find((result) => result.status === "rejected");
    if (failed === undefined) return started;
    await stopAll(...started).catch(() => undefined);
    throw failed.reason;
  });
}
