/**
 * WWW-Authenticate parsing (RFC 9110 §11.6.1, §11.2): a header holds one or more challenges
 * separated by commas, and a challenge's parameters are separated by commas too, so a comma
 * only starts a new challenge when what follows is `scheme` and not `name=`. Values are tokens
 * or quoted strings with backslash escapes (`realm="a,b"`, `scope="repository:x:pull,push"`).
 */

export interface AuthChallenge {
  /** Lower-cased scheme: "bearer", "basic", ... */
  scheme: string;
  /** Parameters with lower-cased names. */
  params: Record<string, string>;
  /** The token68 form (`Negotiate abc==`), when the challenge uses it instead of parameters. */
  token68?: string;
}

const TOKEN_CHARACTER = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHARACTER = /[A-Za-z0-9\-._~+/]/;

/** Parses every challenge in one or more WWW-Authenticate header values; malformed parts are skipped. */
export function parseWwwAuthenticate(
  header: string | readonly string[] | undefined,
): AuthChallenge[] {
  if (header === undefined) return [];
  const values = typeof header === "string" ? [header] : header;
  return values.flatMap((value) => new ChallengeParser(value).parseAll());
}

class ChallengeParser {
  private position = 0;

  constructor(private readonly input: string) {}

  parseAll(): AuthChallenge[] {
    const challenges: AuthChallenge[] = [];
    for (;;) {
      this.skipSeparators();
      if (this.atEnd()) return challenges;
      const scheme = this.readToken();
      if (scheme === "") {
        // Not a token where a scheme must start: skip to the next comma and try again.
        this.skipUntilComma();
        continue;
      }
      challenges.push(this.parseChallengeBody(scheme.toLowerCase()));
    }
  }

  private parseChallengeBody(scheme: string): AuthChallenge {
    const challenge: AuthChallenge = { scheme, params: {} };
    this.skipSpaces();
    const token68 = this.tryReadToken68();
    if (token68 !== undefined) {
      challenge.token68 = token68;
      return challenge;
    }
    for (;;) {
      const start = this.position;
      this.skipSpaces();
      const name = this.readToken();
      this.skipSpaces();
      if (name === "" || this.peek() !== "=") {
        // Either the end, or the scheme of the next challenge: leave it for the caller.
        this.position = start;
        return challenge;
      }
      this.position += 1; // "="
      this.skipSpaces();
      const value = this.peek() === '"' ? this.readQuotedString() : this.readBareValue();
      challenge.params[name.toLowerCase()] = value;
      this.skipSpaces();
      if (this.peek() !== ",") return challenge;
      // Consume the comma(s); the next item is a parameter or a new challenge.
      this.skipSeparators();
    }
  }

  /** token68 is `1*tchar68 *"="` followed by the end or a comma; anything else is parameters. */
  private tryReadToken68(): string | undefined {
    const start = this.position;
    while (!this.atEnd() && TOKEN68_CHARACTER.test(this.peek())) this.position += 1;
    if (this.position === start) return undefined;
    while (this.peek() === "=") this.position += 1;
    const end = this.position;
    this.skipSpaces();
    if (this.atEnd() || this.peek() === ",") {
      return this.input.slice(start, end);
    }
    this.position = start;
    return undefined;
  }

  private readToken(): string {
    const start = this.position;
    while (!this.atEnd() && TOKEN_CHARACTER.test(this.peek())) this.position += 1;
    return this.input.slice(start, this.position);
  }

  /** A token by the RFC; read leniently up to a comma or space, since registries send bare URLs. */
  private readBareValue(): string {
    const start = this.position;
    while (!this.atEnd() && !/[\s,"]/.test(this.peek())) this.position += 1;
    return this.input.slice(start, this.position);
  }

  private readQuotedString(): string {
    this.position += 1; // opening quote
    let value = "";
    while (!this.atEnd()) {
      const character = this.peek();
      this.position += 1;
      if (character === '"') return value;
      if (character === "\\" && !this.atEnd()) {
        value += this.peek();
        this.position += 1;
      } else {
        value += character;
      }
    }
    return value; // unterminated: take what is there
  }

  private skipSpaces(): void {
    while (this.peek() === " " || this.peek() === "\t") this.position += 1;
  }

  private skipSeparators(): void {
    while (this.peek() === " " || this.peek() === "\t" || this.peek() === ",") this.position += 1;
  }

  private skipUntilComma(): void {
    while (!this.atEnd() && this.peek() !== ",") {
      if (this.peek() === '"') this.readQuotedString();
      else this.position += 1;
    }
  }

  private peek(): string {
    return this.input.charAt(this.position);
  }

  private atEnd(): boolean {
    return this.position >= this.input.length;
  }
}
