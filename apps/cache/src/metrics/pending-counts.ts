/**
 * Counts bumped on every request (requests by route, method and status; response bytes by
 * route; hits by kind), kept in plain numbers and added to their prom-client counter when it is
 * collected. prom-client builds a label string and checks the labels on every `inc`, which
 * showed in the profile of small GETs (docs/adr/0035-request-rate-cuts.md); here a count is a
 * map lookup and a short scan of the few cells under its first label.
 */
import type { Counter } from "prom-client";

interface Cell {
  readonly first: string;
  readonly second: string;
  readonly third: string | number;
  readonly labels: Record<string, string>;
  value: number;
}

export class PendingCounts {
  readonly #cellsByFirst = new Map<string, Cell[]>();

  /** `labelNames` as the counter has them, one to three. */
  constructor(private readonly labelNames: readonly string[]) {
    if (labelNames.length < 1 || labelNames.length > 3) {
      throw new Error(`PendingCounts takes one to three label names, got ${labelNames.length}`);
    }
  }

  /** Adds `value` under the label values, in the order of the label names. */
  add(value: number, first: string, second = "", third: string | number = ""): void {
    let cells = this.#cellsByFirst.get(first);
    if (cells === undefined) {
      cells = [];
      this.#cellsByFirst.set(first, cells);
    }
    for (let index = 0; index < cells.length; index += 1) {
      const cell = cells[index] as Cell;
      if (cell.second === second && cell.third === third) {
        cell.value += value;
        return;
      }
    }
    const values = [first, second, String(third)];
    const labels: Record<string, string> = {};
    this.labelNames.forEach((name, index) => {
      labels[name] = values[index] as string;
    });
    cells.push({ first, second, third, labels, value });
  }

  /** Adds what was counted since the last call to `counter` (call it from the counter's `collect`). */
  flushInto(counter: Counter<string>): void {
    for (const cells of this.#cellsByFirst.values()) {
      for (const cell of cells) {
        if (cell.value === 0) continue;
        counter.inc(cell.labels, cell.value);
        cell.value = 0;
      }
    }
  }
}
