export { default } from "../../../vitest.bench.shared.js";
