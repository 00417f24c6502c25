/** The client auth cannot be set up (a bad htpasswd file, ...): start-up stops with this. */
export class AuthSetupError extends Error {
  override readonly name = "AuthSetupError";
  readonly code: "HTPASSWD_UNREADABLE" | "HTPASSWD_INVALID";

  constructor(code: AuthSetupError["code"], message: string) {
    super(message);
    this.code = code;
  }
}
