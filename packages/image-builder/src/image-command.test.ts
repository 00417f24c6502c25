// The `npm run image` command line: help, and bad options refused with exit code 2 before any work.
import { describe, expect, it } from "vitest";
import { runImageCommand } from "./image-command.js";

async function run(argv: string[]) {
  let out = "";
  let error = "";
  const code = await runImageCommand(argv, {
    writeOut: (text) => {
      out += text;
    },
    writeError: (text) => {
      error += text;
    },
    env: {},
  });
  return { code, out, error };
}

describe("npm run image", () => {
  it("--help prints the options and what the command writes", async () => {
    const { code, out } = await run(["--help"]);
    expect(code).toBe(0);
    expect(out).toContain("Usage: npm run image");
    expect(out).toContain("<name>.tar");
    expect(out).toContain("--push");
  });

  it.each([
    [
      ["--image", "regmirror-everything"],
      'unknown image "regmirror-everything": use regmirror-cache or regmirror-operator',
    ],
    [
      ["--platform", "linux/s390x"],
      'unknown platform "linux/s390x": use linux/amd64 or linux/arm64',
    ],
    [["--tag", "latest"], "--tag and --insecure go with --push"],
    [["--insecure"], "--tag and --insecure go with --push"],
    [["--frobnicate"], "Unknown option '--frobnicate'"],
    [["positional"], "Unexpected argument 'positional'"],
  ])("%j is refused with exit code 2: %s", async (argv, message) => {
    const { code, out, error } = await run(argv);
    expect(code).toBe(2);
    expect(error).toContain(message);
    expect(error).toContain("Usage: npm run image");
    expect(out).toBe("");
  });
});
