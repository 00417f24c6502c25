// Runs the built regmirror-cache executable as a user would: a child process with a file.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  makeCertificateAuthority,
  makeTempDirectory,
  removeTempDirectory,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildProductionBundle } from "./daemon/production-bundle.js";

const msrDocsFile = readFileSync(
  new URL(
    "../../../packages/schemas/test/cache-config/fixtures/msr-content-cache.yml",
    import.meta.url,
  ),
  "utf8",
);

let directory: string;
let executable: string;

interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

function runCache(...argv: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [executable, ...argv], { cwd: directory });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (exitCode) => resolve({ exitCode, stdout, stderr }));
  });
}

function writeConfig(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-cache-cli-");
  executable = await buildProductionBundle();

  // The MSR docs file, its certificate paths pointing at real files.
  const authority = await makeCertificateAuthority();
  const server = await authority.issueServerCertificate(["msr-cache.example.com"]);
  writeFileSync(join(directory, "cache.cert.pem"), server.certificatePem);
  writeFileSync(join(directory, "cache.key.pem"), server.keyPem);
  writeFileSync(join(directory, "msr.cert.pem"), authority.certificatePem);
});

afterAll(async () => {
  if (directory) await removeTempDirectory(directory);
});

describe("regmirror-cache check-config FILE", () => {
  test("the MSR docs file is valid: exit 0 and a summary with the secret redacted", async () => {
    const file = writeConfig("msr.yml", msrDocsFile.replaceAll("/certs/", `${directory}/`));
    const result = await runCache("check-config", file);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`${file}: the configuration is valid`);
    expect(result.stdout).toContain(
      "forms:          MSR content cache (downstream middleware), distribution keys",
    );
    expect(result.stdout).toContain(
      `listen:         0.0.0.0:443 with TLS (certificate ${directory}/cache.cert.pem`,
    );
    expect(result.stdout).toContain("storage:        filesystem at /var/lib/registry");
    expect(result.stdout).toContain("blob TTL:       24h");
    expect(result.stdout).toContain(
      "  msr.example.com (default)\n    hosts:       msr.example.com\n",
    );
    expect(result.stdout).toContain(`    CA files:    ${directory}/msr.cert.pem`);
    expect(result.stdout).toContain("http.secret:    <redacted>");
    expect(result.stdout).toContain("storage.delete.enabled: regmirror always deletes");
    expect(result.stdout).not.toContain("generate-random-secret");
  });

  test("--json prints the effective configuration with secrets redacted", async () => {
    const file = writeConfig(
      "proxy.yml",
      "proxy:\n  remoteurl: https://registry-1.docker.io\n  username: bot\n  password: hunter2-password\n",
    );
    const result = await runCache("check-config", "--json", file);
    expect(result.exitCode).toBe(0);
    const config = JSON.parse(result.stdout);
    expect(config.upstreams[0].credentials).toEqual({
      kind: "basic",
      username: "bot",
      password: "<redacted>",
    });
    expect(config.listen).toEqual({ host: "0.0.0.0", port: 5000 });
    expect(result.stdout).not.toContain("hunter2");
  });

  test("a bad file: exit 1 and one line per problem with key path, value and expectation", async () => {
    const file = writeConfig(
      "bad.yml",
      msrDocsFile
        .replace("rootdirectory:", "rootdirectroy:")
        .replace("blobttl: 24h", "blobttl: one day")
        .replace("secret: generate-random-secret", "secret: [generate-random-secret]"),
    );
    const result = await runCache("check-config", file);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.split("\n")).toEqual([
      `${file}: 4 problems`,
      '  - storage.filesystem.rootdirectroy = "/var/lib/registry": expected no key "rootdirectroy" here (did you mean rootdirectory?); this section accepts: rootdirectory, maxthreads',
      "  - storage.filesystem.rootdirectory = (missing): expected a file path",
      "  - http.secret = <redacted>: expected a string (quote it if it looks like a number)",
      '  - middleware.registry[0].options.blobttl = "one day": expected a duration like 24h, 30m, 1h30m, 500ms or 7d (0 for none)',
      "",
    ]);
    expect(result.stderr).not.toContain("generate-random-secret");
  });

  test("files the configuration names must exist, unless --skip-file-checks", async () => {
    const file = writeConfig(
      "missing.yml",
      msrDocsFile.replaceAll("/certs/", `${directory}/absent/`),
    );
    const result = await runCache("check-config", file);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      `  - TLS certificate: ${directory}/absent/cache.cert.pem does not exist or is not readable`,
    );
    expect(result.stderr).toContain(
      `  - CA file of upstream msr.example.com: ${directory}/absent/msr.cert.pem`,
    );
    expect((await runCache("check-config", "--skip-file-checks", file)).exitCode).toBe(0);
  });

  test("a file that cannot be read: exit 1", async () => {
    const result = await runCache("check-config", join(directory, "no-such-file.yml"));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("no-such-file.yml: cannot read the file (ENOENT)");
  });

  test("a YAML syntax error names line and column", async () => {
    const file = writeConfig("syntax.yml", "http:\n  addr: :5000\n   tls: [\n");
    const result = await runCache("check-config", file);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/YAML syntax error at line \d+, column \d+/);
  });
});

describe("the command line", () => {
  test("--help lists every command, the later ones included", async () => {
    const result = await runCache("--help");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("Usage: regmirror-cache <command> [options]");
    expect(result.stdout).toMatch(/check-config FILE +check a configuration file/);
    expect(result.stdout).toMatch(/serve \[FILE\] +run the pull-through cache/);
    expect(result.stdout).toMatch(/warm IMAGE\.\.\. +prefetch images/);
  });

  test.each(["check-config", "serve", "warm"])("%s --help explains the command", async (name) => {
    const result = await runCache(name, "--help");
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split("\n")[0]).toMatch(new RegExp(`^Usage: regmirror-cache ${name} `));
  });

  test("serve and warm refuse wrong arguments with exit code 2", async () => {
    const twoFiles = await runCache("serve", "a.yml", "b.yml");
    expect(twoFiles.exitCode).toBe(2);
    expect(twoFiles.stderr).toContain("expected at most one FILE");
    const noImage = await runCache("warm");
    expect(noImage.exitCode).toBe(2);
    expect(noImage.stderr).toContain("name at least one IMAGE");
  });

  test("serve with a file that does not exist exits 1 before listening", async () => {
    const result = await runCache("serve", "no-such-file.yml");
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("no-such-file.yml: cannot read the file (ENOENT)");
  });

  test("usage errors exit 2", async () => {
    expect((await runCache()).exitCode).toBe(2);
    const unknown = await runCache("serv");
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('unknown command "serv"');
    const noFile = await runCache("check-config");
    expect(noFile.exitCode).toBe(2);
    expect(noFile.stderr).toContain("expected exactly one FILE");
    const badOption = await runCache("check-config", "--jsn", "x.yml");
    expect(badOption.exitCode).toBe(2);
    expect(badOption.stderr).toContain("--jsn");
  });
});
