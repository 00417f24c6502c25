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
