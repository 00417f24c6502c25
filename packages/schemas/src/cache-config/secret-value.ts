// SecretValue: a secret that prints as <redacted> everywhere but reveal().
const redacted = "<redacted>";

/**
 * A secret from the configuration (a password, http.secret, an S3 secret key). It prints as
 * `<redacted>` everywhere — JSON.stringify, String(), util.inspect, template strings — so a
 * config object can be logged whole without leaking it. Only `reveal()` gives the value.
 */
export class SecretValue {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return redacted;
  }

  toString(): string {
    return redacted;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return redacted;
  }
}

export const redactedText = redacted;
