// Runs one of the programs the builder relies on (npm, apt-get, dpkg-deb, git) and returns its
// output; a failure names the command and carries what it printed.
import { execFile } from "node:child_process";

export class ProgramError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = "ProgramError";
  }
}

export function runProgram(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; encoding?: "buffer" } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        encoding: "buffer",
        maxBuffer: 512 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) {
          const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
          const text = stderr.toString("utf8").trim();
          reject(
            new ProgramError(
              missing
                ? `${command} is not installed (the image builder runs it)`
                : `${command} ${args.join(" ")} failed: ${text.split("\n").slice(-5).join("\n") || error.message}`,
              text,
            ),
          );
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

export async function runProgramText(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return (await runProgram(command, args, options)).toString("utf8");
}
