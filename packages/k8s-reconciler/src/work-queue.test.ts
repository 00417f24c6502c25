// Tests of the work queue: deduplication, delays and one worker per key, on a manual clock.
import { createManualClock } from "@regmirror/core/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createPerKeyBackoff } from "./rate-limiter.js";
import { createWorkQueue } from "./work-queue.js";

describe("createWorkQueue", () => {
  it("queues a key once however often it is added, in first-added order", async () => {
    const queue = createWorkQueue();
    for (const key of ["a", "b", "a", "c", "b"]) queue.add(key);
    expect(queue.length).toBe(3);
    expect([await queue.get(), await queue.get(), await queue.get()]).toEqual(["a", "b", "c"]);
  });

  it("processes a key re-added while it was being processed once more, after done()", async () => {
    const queue = createWorkQueue();
    queue.add("a");
    const key = await queue.get();
    queue.add("a");
    queue.add("a");
    expect(queue.length).toBe(0); // not handed to a second worker while the first has it
    queue.done(key as string);
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe("a");
    queue.done("a");
    expect(queue.length).toBe(0);
  });

  it("wakes a waiting worker when a key arrives", async () => {
    const queue = createWorkQueue();
    const waiting = queue.get();
    queue.add("late");
    expect(await waiting).toBe("late");
  });

  it("adds a key after its delay and keeps the earliest of several delays", () => {
    const clock = createManualClock();
    const queue = createWorkQueue({ clock });
    queue.addAfter("a", 1_000);
    queue.addAfter("a", 5_000);
    queue.addAfter("a", 300);
    clock.advance(299);
    expect(queue.length).toBe(0);
    clock.advance(1);
    expect(queue.length).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("delays a failing key more each time, and not at all after forget()", async () => {
    const clock = createManualClock();
    const queue = createWorkQueue({
      clock,
      rateLimiter: createPerKeyBackoff({ initialDelayMs: 100 }),
    });
    const readyAfter = async (): Promise<number> => {
      const key = (await queue.get()) as string;
      queue.addRateLimited(key);
      queue.done(key);
      let waited = 0;
      while (queue.length === 0) {
        clock.advance(10);
        waited += 10;
      }
      return waited;
    };
    queue.add("a");
    expect([await readyAfter(), await readyAfter(), await readyAfter()]).toEqual([100, 200, 400]);
    expect(queue.failures("a")).toBe(3);
    queue.forget("a");
    expect(queue.failures("a")).toBe(0);
  });

  it("drains on shutdown: queued keys are still handed out, then get() ends", async () => {
    const clock = createManualClock();
    const queue = createWorkQueue({ clock });
    queue.add("a");
    queue.add("b");
    queue.addAfter("later", 1_000);
    const first = (await queue.get()) as string;
    let drained = false;
    const draining = queue.shutDownWithDrain().then(() => {
      drained = true;
    });
    queue.add("refused");
    expect(clock.pendingTimers()).toBe(0);
    queue.done(first);
    const second = (await queue.get()) as string;
    expect(second).toBe("b");
    await Promise.resolve();
    expect(drained).toBe(false); // "b" is still being processed
    queue.done(second);
    await draining;
    expect(await queue.get()).toBeUndefined();
  });

  it("shutDown() drops queued keys and releases waiting workers", async () => {
    const queue = createWorkQueue();
    const waiting = queue.get();
    queue.shutDown();
    expect(await waiting).toBeUndefined();
    const other = createWorkQueue();
    other.add("a");
    other.shutDown();
    expect(await other.get()).toBeUndefined();
  });

  it("never hands one key to two workers and loses no key (random interleavings)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.constantFrom("a", "b", "c").map((key) => ({ add: key })),
            fc.constant({ step: true }),
          ),
          {
            maxLength: 60,
          },
        ),
        async (operations) => {
          const queue = createWorkQueue();
          const inFlight: string[] = [];
          const addedSinceStart = new Map<string, number>();
          const processedAfterAdd = new Set<string>();
          for (const operation of operations) {
            if ("add" in operation) {
              queue.add(operation.add);
              addedSinceStart.set(operation.add, (addedSinceStart.get(operation.add) ?? 0) + 1);
              processedAfterAdd.delete(operation.add);
            } else if (queue.length > 0) {
              const key = (await queue.get()) as string;
              expect(inFlight).not.toContain(key);
              inFlight.push(key);
              processedAfterAdd.add(key);
            } else if (inFlight.length > 0) {
              queue.done(inFlight.shift() as string);
            }
          }
          // Finish everything: each key added must be processed after its last add.
          for (const key of inFlight.splice(0)) queue.done(key);
          while (queue.length > 0) {
            const key = (await queue.get()) as string;
            processedAfterAdd.add(key);
            queue.done(key);
          }
          for (const key of addedSinceStart.keys()) expect(processedAfterAdd.has(key)).toBe(true);
        },
      ),
    );
  });
});
