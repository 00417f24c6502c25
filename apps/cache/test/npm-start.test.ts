// The README's `npm start`, run as a new user runs it: npm from the machine's PATH, in a
// directory of their own, with a relative configuration file. It checks what the user sees:
// the subcommands, the file found where they are, a pull through the daemon, and that SIGTERM
// to npm drains the daemon and frees its port (no orphan keeps it).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { delimiter, join, resolve } from "node:path";
import {
  buildTestImage,
  makeTempDirectory,
  pushTestImage,
  removeTempDirectory,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { commandTable } from "../src/cli/command-table.js";
import { sendRequest } from "./daemon/https-request.js";

const repositoryRoot = resolve(import.meta.dirname, "..", "..", "..");

let directory: string;
let upstream: UpstreamRegistry;
let image: TestImage;
const started = new Set<ChildProcess>();

/** The environment of a user's shell: no workspace bins on PATH, no package manager variables. */
function userEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(npm_|PNPM_|REGISTRY_|TURBO_|INIT_CWD$)/.test(name)) continue;
    env[name] = value;
  }
  env.PATH = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((entry) => !entry.includes("node_modules"))
    .join(delimiter);
  return env;
}

interface NpmRun {
  child: ChildProcess;
  stdout(): string;
  exited: Promise<number | null>;
}

/** `npm start -- ARGS` in the user's directory (`--prefix` names the clone, as `cd` would). */
function npmStart(...args: string[]): NpmRun {
  const child = spawn("npm", ["--prefix", repositoryRoot, "start", "--", ...args], {
    cwd: directory,
    env: userEnvironment(),
  });
  started.add(child);
  let stdout = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((done) => {
    child.once("exit", (code) => {
      started.delete(child);
      done(code);
    });
  });
  return { child, stdout: () => stdout, exited };
}

async function npmStartToEnd(...args: string[]): Promise<{ code: number | null; output: string }> {
  const run = npmStart(...args);
  const code = await run.exited;
  return { code, output: run.stdout() };
}

function logLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      done(false);
    });
    socket.once("error", () => done(true));
  });
}

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-npm-start-");
  upstream = await startUpstreamRegistry();
  image = await buildTestImage({ seed: "npm-start", layers: [1024] });
  await pushTestImage(image, upstream, "team/app");
  // Relative paths, as a user writes them next to their file; the daemon says which port it got.
  writeFileSync(
    join(directory, "config.yml"),
    `version: 0.1
http:
  addr: 127.0.0.1:0
storage:
  filesystem:
    rootdirectory: ./data
proxy:
  remoteurl: ${upstream.url}
`,
  );
});

afterAll(async () => {
  for (const child of started) child.kill("SIGKILL");
  await upstream?.stop();
  if (directory) await removeTempDirectory(directory);
});

describe("npm start", () => {
  test("the commands npm start passes through are the executable's commands", async () => {
    const { cacheCommands } = (await import(
      join(repositoryRoot, "scripts", "lib", "cache-commands.mjs")
    )) as { cacheCommands: string[] };
    expect(cacheCommands).toEqual([
      ...commandTable.map((command) => command.name),
      "help",
      "version",
    ]);
  });

  test("-- config.yml serves the file of the caller's directory; SIGTERM to npm drains the daemon and frees the port", async () => {
    const run = npmStart("config.yml");
    await expect
      .poll(() => logLines(run.stdout()).some((line) => line.msg === "listening"), {
        timeout: 240_000,
        interval: 200,
      })
      .toBe(true)
      .catch((error: Error) => {
        // Say where it stood: installing, building (minutes in a clone never built), starting.
        throw new Error(`npm start did not listen: ${error.message}\nit printed:\n${run.stdout()}`);
      });
    const starting = logLines(run.stdout()).find((line) => line.msg === "starting");
    expect(starting).toMatchObject({ configFile: join(directory, "config.yml") });
    const listening = logLines(run.stdout()).find((line) => line.msg === "listening");
    const url = String(listening?.url);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const answer = await sendRequest(url, `/v2/team/app/manifests/${image.tag}`, {
      headers: { Accept: image.mediaType },
    });
    expect(answer.status).toBe(200);
    expect(existsSync(join(directory, "data"))).toBe(true);

    run.child.kill("SIGTERM");
    await run.exited;
    await expect
      .poll(() => logLines(run.stdout()).some((line) => line.msg === "stopped"))
      .toBe(true);
    expect(logLines(run.stdout()).map((line) => line.msg)).toContain(
      "draining: no new connections",
    );
    await expect.poll(() => portIsFree(Number(new URL(url).port))).toBe(true);
    // The first run after a change builds the daemon: minutes on a busy machine.
  }, 300_000);

  test("-- check-config config.yml checks the caller's file", async () => {
    const { code, output } = await npmStartToEnd("check-config", "config.yml");
    expect(code).toBe(0);
    expect(output).toContain(`${join(directory, "config.yml")}: the configuration is valid`);
    expect(output).toContain(`storage:        filesystem at ./data (${join(directory, "data")})`);
  });

  test("-- missing.yml names the file by its absolute path", async () => {
    const { code, output } = await npmStartToEnd("missing.yml");
    expect(code).toBe(1);
    expect(output).toContain(
      `${join(directory, "missing.yml")}: cannot read the file (ENOENT: no such file)`,
    );
  });

  test("-- --help lists every command; -- --version prints the version", async () => {
    const help = await npmStartToEnd("--help");
    expect(help.output).toContain("Commands:");
    expect(help.code).toBe(0);
    for (const command of commandTable) expect(help.output).toContain(`  ${command.name} `);
    const version = await npmStartToEnd("--version");
    expect(version.code).toBe(0);
    expect(version.output).toMatch(/^regmirror-cache \d+\.\d+\.\d+ \(Node 26\.\d+\.\d+\)$/m);
  });
});
