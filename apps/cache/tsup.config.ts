// main.ts is the regmirror-cache executable (package.json "bin"); index.ts the module API.
import { program } from "../../tsup.shared.js";

export default program({ bundleEverything: true });
