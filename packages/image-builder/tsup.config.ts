// index: the API tests and other packages import; main: the `pnpm image` command.
import { program } from "../../tsup.shared.js";

// npm dependencies stay external (the command runs from this repository).
export default program({ bundleEverything: false });
