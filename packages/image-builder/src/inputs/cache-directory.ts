// Where downloaded image inputs are kept between builds: the same cache directory the test
// command uses for its tools ($REGMIRROR_CACHE_DIR, else $XDG_CACHE_HOME/regmirror, else
// ~/.cache/regmirror), under image-inputs/.
import { homedir } from "node:os";
import { join } from "node:path";

export function imageInputsDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return join(env.REGMIRROR_CACHE_DIR ?? join(base, "regmirror"), "image-inputs");
}
