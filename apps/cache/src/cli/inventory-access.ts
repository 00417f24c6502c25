/**
 * Where `ls`, `du` and `rm` read and remove: the store of a configuration, opened by this
 * process (a filesystem store only while no `serve` holds it), or a running cache's admin API
 * (`--url`, with the admin credential from `--password-file`). Both give the same answers: the
 * admin API returns what the inventory returns.
 */
import { parseArgs } from "node:util";
import { openCacheBackend } from "../daemon/open-cache-backend.js";
import { adminApiPrefix } from "../inspection/admin-api.js";
import { inventoryOf } from "../inspection/backend-inventory.js";
import type { CacheInventory } from "../inspection/cache-inventory.js";
import { createRootLogger } from "../logging/create-root-logger.js";
import { type CliContext, exitCodes } from "./cli-context.js";
import { loadEffectiveConfig } from "./load-effective-config.js";

export const inventoryOptionsHelp = `Options:
  -c, --config FILE         read the store of this configuration (default: the built-in one);
                            a filesystem store only while no 'serve' runs on it
      --url URL             ask a running cache instead, through its admin API (/admin/v1)
      --user NAME           the admin user name for --url (default: admin)
      --password-file FILE  a file holding the admin password for --url
      --json                print the answer as JSON
  -h, --help                this text`;

export interface InventoryAccess {
  inventory: CacheInventory;
  close(): Promise<void>;
}

export interface InventoryCommandLine {
  positionals: string[];
  json: boolean;
  open(): Promise<InventoryAccess | undefined>;
}

/** A failed admin API answer, with the message the cache gave. */
export class AdminApiError extends Error {
  override readonly name = "AdminApiError";
}

function remoteInventory(baseUrl: URL, authorization: string): CacheInventory {
  async function call(method: string, path: string): Promise<never> {
    const url = new URL(`${adminApiPrefix}/${path}`, baseUrl);
    let response: Response;
    try {
      response = await fetch(url, { method, headers: { authorization } });
    } catch (error) {
      throw new AdminApiError(`cannot reach ${baseUrl.origin}: ${(error as Error).message}`);
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new AdminApiError(`${url.origin} answered ${response.status}, not the admin API`);
    }
    if (!response.ok) {
      const message = (body as { errors?: { message?: string }[] }).errors?.[0]?.message;
      throw new AdminApiError(`${url.origin} answered ${response.status}: ${message ?? text}`);
    }
    return body as never;
  }
  return {
    list: () => call("GET", "repositories"),
    usage: () => call("GET", "usage"),
    evict: (target) => call("DELETE", `content?target=${encodeURIComponent(target)}`),
  };
}

/** Parses the common options; prints the problem and gives undefined on a bad command line. */
export function parseInventoryCommandLine(
  argv: readonly string[],
  command: string,
  context: CliContext,
): InventoryCommandLine | undefined {
  let values: {
    config?: string | undefined;
    url?: string | undefined;
    user?: string | undefined;
    "password-file"?: string | undefined;
    json?: boolean | undefined;
  };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string", short: "c" },
        url: { type: "string" },
        user: { type: "string" },
        "password-file": { type: "string" },
        json: { type: "boolean" },
      },
    }));
  } catch (error) {
    context.writeError(`regmirror-cache ${command}: ${(error as Error).message}\n`);
    return undefined;
  }
  const fail = (message: string) => {
    context.writeError(`regmirror-cache ${command}: ${message}\n`);
    return undefined;
  };
  if (values.url !== undefined && values.config !== undefined) {
    return fail("--config and --url exclude each other: read a store, or ask a running cache");
  }
  if (values.url === undefined && values["password-file"] !== undefined) {
    return fail("--password-file goes with --url");
  }
  const url = values.url;
  if (url !== undefined) {
    let baseUrl: URL;
    try {
      baseUrl = new URL(url);
      if (baseUrl.protocol !== "http:" && baseUrl.protocol !== "https:") throw new Error();
    } catch {
      return fail(`--url ${JSON.stringify(url)} is not an http(s) URL like http://127.0.0.1:5000`);
    }
    const passwordFile = values["password-file"];
    if (passwordFile === undefined) {
      return fail("--url needs the admin password: --password-file FILE");
    }
    return {
      positionals,
      json: values.json === true,
      async open() {
        let password: string;
        try {
          password = (await context.readTextFile(passwordFile)).trim();
        } catch (error) {
          fail(`cannot read --password-file ${passwordFile}: ${(error as Error).message}`);
          return undefined;
        }
        const credentials = `${values.user ?? "admin"}:${password}`;
        const authorization = `Basic ${Buffer.from(credentials).toString("base64")}`;
        return { inventory: remoteInventory(baseUrl, authorization), close: async () => {} };
      },
    };
  }
  return {
    positionals,
    json: values.json === true,
    async open() {
      const config = await loadEffectiveConfig(values.config, context, command);
      if (config === undefined) return undefined;
      const logger = createRootLogger({
        level: "warn",
        fileDescriptor: 2,
        ...(context.logDestination === undefined ? {} : { destination: context.logDestination }),
      });
      try {
        const backend = await openCacheBackend({
          config,
          logger,
          owner: `regmirror-cache ${command}`,
        });
        return { inventory: inventoryOf(backend, config.upstreams, logger), close: backend.close };
      } catch (error) {
        fail(`cannot open the store: ${(error as Error).message}`);
        return undefined;
      }
    },
  };
}

/** Runs `body` with the inventory open, closing it afterwards; a failure is printed. */
export async function withInventory(
  commandLine: InventoryCommandLine,
  command: string,
  context: CliContext,
  body: (inventory: CacheInventory) => Promise<number>,
): Promise<number> {
  const access = await commandLine.open();
  if (access === undefined) return exitCodes.invalidInput;
  try {
    return await body(access.inventory);
  } catch (error) {
    if (!(error instanceof AdminApiError)) throw error;
    context.writeError(`regmirror-cache ${command}: ${error.message}\n`);
    return exitCodes.invalidInput;
  } finally {
    await access.close();
  }
}

/**
 * The run of a command that takes no arguments and prints one answer of the inventory: as text
 * (`format`), or as JSON with `--json`.
 */
export function printInventoryAnswer<T>(
  command: string,
  read: (inventory: CacheInventory) => Promise<T>,
  format: (answer: T) => string,
): (argv: readonly string[], context: CliContext) => Promise<number> {
  return async (argv, context) => {
    const commandLine = parseInventoryCommandLine(argv, command, context);
    if (commandLine === undefined) return exitCodes.usage;
    if (commandLine.positionals.length > 0) {
      context.writeError(`regmirror-cache ${command}: takes no arguments (see --help)\n`);
      return exitCodes.usage;
    }
    return withInventory(commandLine, command, context, async (inventory) => {
      const answer = await read(inventory);
      context.writeOut(commandLine.json ? `${JSON.stringify(answer, null, 2)}\n` : format(answer));
      return exitCodes.ok;
    });
  };
}
