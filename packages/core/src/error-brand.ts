/**
 * The one way regmirror errors are recognised: each package's base error class carries a
 * `Symbol.for` brand and offers `static isInstance(value)`. `instanceof` fails when two copies of
 * a package meet in one program (two versions in node_modules); a registered symbol does not.
 */

export interface ErrorBrand {
  /** Marks an error (call it in the base class's constructor: subclasses are marked too). */
  mark(error: Error): void;
  /** True for an error marked by this brand in any copy of the package. */
  test(value: unknown): boolean;
}

/** A brand named `@regmirror/<package>.<BaseErrorClass>`. */
export function errorBrand(key: string): ErrorBrand {
  const symbol = Symbol.for(key);
  return {
    mark(error) {
      Object.defineProperty(error, symbol, { value: true });
    },
    test(value) {
      return (
        typeof value === "object" &&
        value !== null &&
        (value as Record<symbol, unknown>)[symbol] === true
      );
    },
  };
}

/**
 * The base class of a package's errors, branded with `key` (`@regmirror/<package>.<Class>`;
 * its last part becomes the error's `name`): a stable `code`, a message, an optional cause,
 * and `static isInstance(value)`. Subclasses set their own `name`; `isInstance` recognises the
 * whole family, so call it on the base class.
 *
 *     export class BlobStoreError extends brandedError<BlobStoreErrorCode>(
 *       "@regmirror/blob-store.BlobStoreError",
 *     ) {}
 */
export function brandedError<Code extends string>(key: string) {
  const brand = errorBrand(key);
  const name = key.slice(key.lastIndexOf(".") + 1);
  return class BrandedError extends Error {
    readonly code: Code;

    constructor(code: Code, message: string, options?: ErrorOptions) {
      super(message, options);
      this.name = name;
      this.code = code;
      brand.mark(this);
    }

    /** True for an error of this family from any copy of its package. */
    static isInstance<T extends abstract new (...args: never[]) => Error>(
      this: T,
      value: unknown,
    ): value is InstanceType<T> {
      return brand.test(value);
    }
  };
}
