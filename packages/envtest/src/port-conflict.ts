// Starting again on new ports when another process took a free port before the server bound it.
import { type Logger, silentLogger } from "@regmirror/core";

const addressInUse = /address already in use|EADDRINUSE/i;

/**
 * True for a start that failed because its port was taken: the server's own words (Go's
 * `bind: address already in use`, Node's `EADDRINUSE`, dnsmasq's `Address already in use`) in the
 * error or its cause.
 */
export function isAddressInUse(error: unknown): boolean {
  return addressInUseLine(error) !== undefined;
}

/** The line of the error (or of a cause) that says the address is in use. */
function addressInUseLine(error: unknown): string | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    const line = current.message.split("\n").find((text) => addressInUse.test(text));
    if (line !== undefined) return line.trim();
    if ((current as NodeJS.ErrnoException).code === "EADDRINUSE") return current.message;
  }
  return undefined;
}

export interface PortConflictRetryOptions {
  /** How many starts in all; default 4. */
  attempts?: number;
  /** Where each retry is told (a warning); default silent. */
  logger?: Logger;
}

/**
 * Runs `start` (which picks its ports with `freePort()` each time) and runs it again, at most
 * `attempts` times in all, while it fails because a port was taken between the pick and the
 * bind. `start` must clean up after a failed attempt. Any other failure is thrown at once.
 */
export async function retryOnAddressInUse<T>(
  what: string,
  start: () => Promise<T>,
  options: PortConflictRetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 4;
  const logger = options.logger ?? silentLogger;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start();
    } catch (error) {
      const conflict = addressInUseLine(error);
      if (conflict === undefined || attempt >= attempts) throw error;
      logger.warn(
        { server: what, attempt, attempts, error: conflict },
        "a port was taken before the server bound it; starting it again on new ports",
      );
    }
  }
}
