/** What a command may touch; main.ts passes the real process, tests pass their own. */
export interface CliContext {
  writeOut(text: string): void;
  writeError(text: string): void;
  /** Reads a UTF-8 file; rejects with the usual Node error (code ENOENT, EACCES...). */
  readTextFile(path: string): Promise<string>;
  /** The process environment: REGISTRY_* variables override configuration keys. Absent: none. */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /**
   * Makes this process's TLS clients trust the operating system's store, as distribution does
   * (serve and warm call it before they reach an upstream; reading the store takes a moment, so
   * commands that make no TLS connection skip it). Absent: Node's default trust only.
   */
  trustOperatingSystemStore?(): void;
  /** Calls `listener` on SIGTERM / SIGINT (serve drains, warm stops). Absent: never. */
  onShutdownSignal?(listener: (signal: string) => void): void;
  /** True when standard output is a terminal (warm redraws its progress line in place). */
  readonly stdoutIsTerminal?: boolean;
  /**
   * Worker processes (docs/adr/0036-worker-processes.md): `startOther` starts another worker
   * (this program with an IPC channel, which runs other-worker-main.ts). Absent:
   * `regmirror.workers` above 1 cannot start.
   */
  readonly workers?: {
    startOther(): import("node:child_process").ChildProcess;
  };
  /** Where the daemon's JSON log lines go; default: standard output, written synchronously. */
  readonly logDestination?: import("pino").DestinationStream;
}

export const exitCodes = {
  ok: 0,
  /** The input (a configuration file) is wrong. */
  invalidInput: 1,
  /** The command line is wrong or the command cannot run. */
  usage: 2,
} as const;
