import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { describeCacheConfig } from "../config/describe-cache-config.js";
import { loadConfigFile } from "../config/load-config-file.js";
import { type CliContext, exitCodes } from "./cli-context.js";
import type { Command } from "./command.js";

const help = `Checks a cache configuration file without starting anything.

FILE may be an MSR content cache file, a distribution config.yml (proxy form) or a file with
regmirror keys; it must name the upstream registry to mirror. REGISTRY_* environment variables
override its keys as in distribution (REGISTRY_PROXY_REMOTEURL sets proxy.remoteurl) and are
listed in the summary. When something is wrong, every problem is printed on its own line with
its key path, the value found (secrets show as <redacted>) and what was expected, and the exit
code is 1. The files the configuration names are read too: the TLS certificate and key must be
a pair, every CA file must hold certificates. Otherwise a summary of the effective
configuration is printed and the exit code is 0.

Options:
  --json               print the effective configuration as JSON (secrets redacted)
  --skip-file-checks   do not read the TLS, CA, htpasswd and Docker config files
  -h, --help           this text`;

async function checkConfig(argv: readonly string[], context: CliContext): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    context.writeError(`regmirror-cache check-config: ${(error as Error).message}\n`);
    return exitCodes.usage;
  }
  const [file, ...extra] = parsed.positionals;
  if (file === undefined || extra.length > 0) {
    context.writeError("regmirror-cache check-config: expected exactly one FILE (see --help)\n");
    return exitCodes.usage;
  }

  const loaded = await loadConfigFile(file, context, {
    checkReferencedFiles: parsed.values["skip-file-checks"] !== true,
  });
  if (!loaded.ok) {
    for (const line of loaded.report) context.writeError(`${line}\n`);
    return exitCodes.invalidInput;
  }
  const { config } = loaded;

  if (parsed.values.json) {
    context.writeOut(`${JSON.stringify(config, null, 2)}\n`);
  } else {
    context.writeOut(`${resolve(file)}: the configuration is valid\n`);
    for (const line of describeCacheConfig(config)) context.writeOut(`${line}\n`);
  }
  return exitCodes.ok;
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: "boolean" },
      "skip-file-checks": { type: "boolean" },
    },
  });
}

export const checkConfigCommand: Command = {
  name: "check-config",
  arguments: "FILE",
  summary: "check a configuration file and print the effective configuration",
  help,
  run: checkConfig,
};
