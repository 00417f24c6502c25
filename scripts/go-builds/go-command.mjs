// What the Go build scripts share: timed progress lines and the niced, cgo-free `go` command.
// Plain ESM for Node 20+, no dependencies.
import { execFileSync } from "node:child_process";

/** `progress(message)` prints `[name   12s] message`, counting from the call. */
export function progressReporter(name) {
  const started = Date.now();
  return (message) => {
    const seconds = ((Date.now() - started) / 1000).toFixed(0).padStart(4, " ");
    console.log(`[${name} ${seconds}s] ${message}`);
  };
}

// Other engineers share the cores: the Go toolchain runs niced.
const goEnvironment = { ...process.env, CGO_ENABLED: "0" };

/** Runs `go ARGS`; with `capture` returns its standard output instead of showing it. */
export function go(args, options = {}) {
  return execFileSync("nice", ["-n", "10", "go", ...args], {
    env: goEnvironment,
    encoding: "utf8",
    stdio: options.capture ? ["ignore", "pipe", "inherit"] : "inherit",
    cwd: options.cwd,
  });
}
