// Runs the built regmirror-cache executable as a user would: a child process with a file.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  makeCertificateAuthority,
  makeTempDirectory,
  removeTempDirectory,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunResult, runBundle } from "./daemon/cache-process.js";
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
let otherPair: { certificatePem: string; keyPem: string };

function runCache(...argv: string[]): Promise<RunResult> {
  return runCacheWith({}, ...argv);
}

/** Runs the executable with these REGISTRY_* (or other) variables added to the environment. */
function runCacheWith(environment: Record<string, string>, ...argv: string[]): Promise<RunResult> {
  return runBundle(executable, argv, directory, { ...process.env, ...environment });
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
  otherPair = await authority.issueServerCertificate(["other.example.com"]);
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
        .replace("secret: generate-random-secret", "secret: [generate-random-secret]")
        .concat("regmirror:\n  defaultUpstream: quay\n"),
    );
    const result = await runCache("check-config", file);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe("");
    // All of them in one pass: the unknown defaultUpstream does not wait for the others.
    expect(result.stderr.split("\n")).toEqual([
      `${file}: 5 problems`,
      '  - storage.filesystem.rootdirectroy = "/var/lib/registry": expected no key "rootdirectroy" here (did you mean rootdirectory?); this section accepts: rootdirectory, maxthreads',
      "  - storage.filesystem.rootdirectory = (missing): expected a file path",
      "  - http.secret = <redacted>: expected a string (quote it if it looks like a number)",
      '  - middleware.registry[0].options.blobttl = "one day": expected a duration like 24h, 30m, 1h30m, 500ms or 7d (0 for none)',
      '  - regmirror.defaultUpstream = "quay": expected the name of a configured upstream (msr.example.com) or null',
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
      `  - TLS certificate: ${directory}/absent/cache.cert.pem cannot be read (ENOENT)`,
    );
    expect(result.stderr).toContain(
      `  - CA file of upstream msr.example.com: ${directory}/absent/msr.cert.pem`,
    );
    expect((await runCache("check-config", "--skip-file-checks", file)).exitCode).toBe(0);
  });

  test("a swapped certificate and key, and a CA file without a certificate, name the file and the problem", async () => {
    writeFileSync(join(directory, "ca-holds-a-key.pem"), otherPair.keyPem);
    const file = writeConfig(
      "swapped.yml",
      msrDocsFile
        .replace("/certs/cache.cert.pem", `${directory}/cache.key.pem`)
        .replace("/certs/cache.key.pem", `${directory}/cache.cert.pem`)
        .replace("/certs/msr.cert.pem", `${directory}/ca-holds-a-key.pem`),
    );
    const result = await runCache("check-config", file);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.split("\n")).toEqual([
      `${file}: 2 problems with the files it names`,
      `  - TLS certificate: ${directory}/cache.key.pem holds a private key and TLS key ${directory}/cache.cert.pem a certificate: are http.tls.certificate and http.tls.key swapped?`,
      `  - CA file of upstream msr.example.com: ${directory}/ca-holds-a-key.pem holds no PEM certificate (it holds private key); expected one or more "BEGIN CERTIFICATE" blocks`,
      "",
    ]);
  });

  test("a key of another pair stops serve before it listens, naming both files", async () => {
    writeFileSync(join(directory, "other.key.pem"), otherPair.keyPem);
    const file = writeConfig(
      "other-key.yml",
      msrDocsFile
        .replaceAll("/certs/", `${directory}/`)
        .replace(`${directory}/cache.key.pem`, `${directory}/other.key.pem`)
        .replace("/var/lib/registry", join(directory, "data"))
        .replace("0.0.0.0:443", "127.0.0.1:0"),
    );
    const result = await runCache("serve", file);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(
      `  - TLS key: the key in ${directory}/other.key.pem does not belong to the certificate in ${directory}/cache.cert.pem (CN=msr-cache.example.com): they are from different pairs`,
    );
  });

  test("REGISTRY_* variables set keys, are listed, and a secret set by one is never printed", async () => {
    const file = writeConfig(
      "no-proxy.yml",
      "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /data\n",
    );
    const result = await runCacheWith(
      {
        REGISTRY_PROXY_REMOTEURL: "https://registry.corp.example:5000",
        REGISTRY_PROXY_USERNAME: "mirror-bot",
        REGISTRY_PROXY_PASSWORD: "hunter2-from-the-environment",
        REGISTRY_HTTP_ADDR: "127.0.0.1:6000",
        REGISTRY_PORT: "tcp://10.96.0.10:5000",
      },
      "check-config",
      file,
    );
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("listen:         127.0.0.1:6000 without TLS");
    expect(result.stdout).toContain("    endpoints:   https://registry.corp.example:5000");
    expect(result.stdout).toContain("    credentials: username mirror-bot, password <redacted>");
    expect(result.stdout).toContain(
      [
        "set by the environment (values above; secrets redacted):",
        "  REGISTRY_HTTP_ADDR → http.addr",
        "  REGISTRY_PROXY_PASSWORD → proxy.password",
        "  REGISTRY_PROXY_REMOTEURL → proxy.remoteurl",
        "  REGISTRY_PROXY_USERNAME → proxy.username",
      ].join("\n"),
    );
    expect(result.stdout).toContain('  REGISTRY_PORT: names no key "port" at the top level');
    expect(result.stdout).not.toContain("hunter2");
  });

  test("a file that cannot be read: exit 1, naming it by its absolute path", async () => {
    const result = await runCache("check-config", "no-such-file.yml");
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      `${directory}/no-such-file.yml: cannot read the file (ENOENT: no such file)\n`,
    );
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
    expect(result.stdout).toMatch(/-V, --version +print the version/);
  });

  test("--version prints the package version and the Node it runs on", async () => {
    const result = await runCache("--version");
    expect(result.exitCode).toBe(0);
    const { version } = JSON.parse(
      readFileSync(new URL("../package.json", import.meta.url), "utf8"),
    );
    expect(result.stdout).toBe(`regmirror-cache ${version} (Node ${process.versions.node})\n`);
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
    expect(result.stderr).toContain(
      `${directory}/no-such-file.yml: cannot read the file (ENOENT: no such file)`,
    );
  });

  test("serve with an empty file refuses to start rather than run an open Docker Hub mirror", async () => {
    const file = writeConfig("empty.yml", "# the ConfigMap did not mount\n");
    const result = await runCache("serve", file);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`${file}: 1 problem`);
    expect(result.stderr).toContain(
      "(top level) = (an empty file): expected the upstream registry to mirror",
    );
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
