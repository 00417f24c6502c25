/**
 * An htpasswd file of bcrypt entries (`user:$2y$...`, what `htpasswd -B` and distribution's
 * htpasswd auth use). Other hash kinds (MD5, SHA-1, crypt) are refused at start-up: they are
 * weak, and distribution refuses them too. Errors name the line, never its content.
 */
import { readFile } from "node:fs/promises";
import bcrypt from "bcryptjs";
import { AuthSetupError } from "./auth-errors.js";

export interface HtpasswdFile {
  /** True when the user exists and the password matches. */
  verify(username: string, password: string): Promise<boolean>;
  readonly usernames: readonly string[];
}

const bcryptHash = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

export function parseHtpasswd(text: string, file: string): HtpasswdFile {
  const hashes = new Map<string, string>();
  for (const [index, rawLine] of text.split(/\r?\n/).entries()) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    const username = colon > 0 ? line.slice(0, colon) : "";
    const hash = line.slice(colon + 1);
    if (username === "" || !bcryptHash.test(hash)) {
      throw new AuthSetupError(
        "HTPASSWD_INVALID",
        `${file} line ${index + 1}: expected user:bcrypt-hash (htpasswd -B)`,
      );
    }
    hashes.set(username, hash);
  }
  // A fixed hash to compare against for unknown users, so timing does not tell who exists.
  const decoy = bcrypt.hashSync("regmirror-decoy", 4);
  return {
    usernames: [...hashes.keys()],
    async verify(username, password) {
      const hash = hashes.get(username);
      const matches = await bcrypt.compare(password, hash ?? decoy);
      return hash !== undefined && matches;
    },
  };
}

export async function loadHtpasswdFile(file: string): Promise<HtpasswdFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
    throw new AuthSetupError(
      "HTPASSWD_UNREADABLE",
      `cannot read the htpasswd file ${file} (${code})`,
    );
  }
  return parseHtpasswd(text, file);
}
