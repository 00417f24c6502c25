import bcrypt from "bcryptjs";
import { expect, test } from "vitest";
import { AuthSetupError } from "./auth-errors.js";
import { parseHtpasswd } from "./htpasswd-file.js";

test("bcrypt entries verify; wrong passwords and unknown users do not", async () => {
  const file = parseHtpasswd(
    `# users\nalice:${bcrypt.hashSync("alice-pass", 4)}\n\nbob:${bcrypt.hashSync("bob-pass", 4)}\n`,
    "htpasswd",
  );
  expect(file.usernames).toEqual(["alice", "bob"]);
  expect(await file.verify("alice", "alice-pass")).toBe(true);
  expect(await file.verify("alice", "bob-pass")).toBe(false);
  expect(await file.verify("carol", "alice-pass")).toBe(false);
});

test("a weak or broken entry stops start-up naming its line, never its content", () => {
  const md5Line = "alice:$apr1$abcdefgh$0123456789abcdefghijkl";
  let error: unknown;
  try {
    parseHtpasswd(`bob:${bcrypt.hashSync("x", 4)}\n${md5Line}\n`, "/etc/regmirror/htpasswd");
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(AuthSetupError);
  expect((error as AuthSetupError).code).toBe("HTPASSWD_INVALID");
  expect((error as Error).message).toBe(
    "/etc/regmirror/htpasswd line 2: expected user:bcrypt-hash (htpasswd -B)",
  );
});
