// The bench is not a workspace of its own (it must never run with the tests), so it borrows
// the undici that the test kit already depends on instead of adding a package.
import { createRequire } from "node:module";

const require = createRequire(new URL("../../packages/test-kit/package.json", import.meta.url));
const undici = require("undici");

export const { Agent, buildConnector, request } = undici;
export const undiciVersion = require("undici/package.json").version;
