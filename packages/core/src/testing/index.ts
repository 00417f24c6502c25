// Helpers for the tests of code that uses @regmirror/core: `@regmirror/core/testing`.
export { type CapturedLog, type CapturingLogger, capturingLogger } from "./capturing-logger.js";
export { createManualClock, type ManualClock } from "./manual-clock.js";
