// An informer's cache of objects, by key.
import { type KubeObject, objectKey } from "./kubernetes-object.js";

/** A read-only view of an informer's cache, keyed like `objectKey` ("namespace/name"). */
export interface ObjectStore<T extends KubeObject> {
  get(key: string): T | undefined;
  list(): T[];
  keys(): string[];
  readonly size: number;
}

export interface StoreChange<T> {
  type: "add" | "update" | "delete";
  object: T;
  previous?: T;
}

/** The cache behind an informer; each mutation reports what changed so events can be fired. */
export class MutableObjectStore<T extends KubeObject> implements ObjectStore<T> {
  readonly #objects = new Map<string, T>();

  get(key: string): T | undefined {
    return this.#objects.get(key);
  }

  list(): T[] {
    return [...this.#objects.values()];
  }

  keys(): string[] {
    return [...this.#objects.keys()];
  }

  get size(): number {
    return this.#objects.size;
  }

  upsert(object: T): StoreChange<T> {
    const key = objectKey(object);
    const previous = this.#objects.get(key);
    this.#objects.set(key, object);
    return previous ? { type: "update", object, previous } : { type: "add", object };
  }

  remove(object: T): StoreChange<T> {
    const key = objectKey(object);
    const previous = this.#objects.get(key);
    this.#objects.delete(key);
    return {
      type: "delete",
      object: previous && !object.metadata?.resourceVersion ? previous : object,
    };
  }

  /**
   * Replaces the content with a fresh list and returns the differences: objects new to the
   * cache, objects whose resourceVersion moved, and objects gone while nobody watched.
   */
  replace(objects: readonly T[]): StoreChange<T>[] {
    const changes: StoreChange<T>[] = [];
    const seen = new Set<string>();
    for (const object of objects) {
      const key = objectKey(object);
      seen.add(key);
      const previous = this.#objects.get(key);
      this.#objects.set(key, object);
      if (!previous) changes.push({ type: "add", object });
      else if (previous.metadata?.resourceVersion !== object.metadata?.resourceVersion) {
        changes.push({ type: "update", object, previous });
      }
    }
    for (const [key, object] of this.#objects) {
      if (seen.has(key)) continue;
      this.#objects.delete(key);
      changes.push({ type: "delete", object });
    }
    return changes;
  }
}
