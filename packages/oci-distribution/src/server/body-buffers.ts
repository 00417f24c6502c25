/**
 * The buffers a registry handler lends to blob readers. Each response takes two while it sends
 * a body and gives them back when done; a few stay for the next responses, the rest are left
 * to the garbage collector so an idle server does not hold a peak's worth of memory.
 */
export interface BodyBufferPool {
  readonly chunkBytes: number;
  take(): Buffer;
  give(buffer: Buffer): void;
}

export function createBodyBufferPool(chunkBytes = 128 * 1024, maxIdle = 32): BodyBufferPool {
  const idle: Buffer[] = [];
  return {
    chunkBytes,
    take: () => idle.pop() ?? Buffer.allocUnsafeSlow(chunkBytes),
    give(buffer) {
      if (idle.length < maxIdle) idle.push(buffer);
    },
  };
}
