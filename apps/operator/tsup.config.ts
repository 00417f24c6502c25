// index: the package's API; main: the regmirror-operator binary (see src/cli.ts).
import { program } from "../../tsup.shared.js";

export default program({ bundleEverything: true });
