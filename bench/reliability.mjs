#!/usr/bin/env node
// Reliability figures for docs/reliability.md: the same attacks on the regmirror cache and on
// distribution's proxy (Debian's docker-registry in proxy mode), one fresh instance per attack,
// each in front of a real docker-registry behind the test kit's fault proxy. Prints a Markdown
// table. Not part of the test suite: `pnpm bench:reliability` (as root: one attack mounts a
// tmpfs). `--help` for options.
import { mkdtempSync, rmSync } from "node:fs";
import { registerHooks } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cacheImageEnvironment } from "../scripts/lib/cache-image-environment.mjs";
import { describeMachine } from "./lib/machine-info.mjs";
import { killAllChildren } from "./lib/processes.mjs";
import { reliabilityAttacks } from "./lib/reliability-attacks.mjs";
import { startDistributionProxy, startRegmirrorCache } from "./lib/systems.mjs";

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const help = `Usage: pnpm bench:reliability [options]

Runs each attack against the regmirror cache and distribution's proxy and prints what a
client saw, as a Markdown table (docs/reliability.md). Takes about 15 minutes; needs root (a
tmpfs), docker-registry and skopeo.

Options:
  --systems LIST      regmirror,distribution (default: both)
  --attacks LIST      attack keys (default: all): corrupt, cut, length-long, length-short,
                      chunked-short, manifest-mismatch, oversized-manifest,
                      oversized-manifest-chunked, smuggling, kill-mid-pull, black-hole,
                      refused, disk-once, disk-full, redirect
  --cache-main PATH   the cache's dist/main.js (default: apps/cache/dist/main.js; build it first
                      with pnpm --filter @regmirror/cache build); another build measures an older
                      version of the cache
  -h, --help          this text
`;

let options;
try {
  ({ values: options } = parseArgs({
    options: {
      systems: { type: "string", default: "regmirror,distribution" },
      attacks: { type: "string" },
      "cache-main": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  process.stderr.write(`${error.message}\n\n${help}`);
  process.exit(2);
}
if (options.help) {
  process.stdout.write(help);
  process.exit(0);
}

// The test kit is TypeScript: Node strips the types; its "./x.js" imports mean "./x.ts".
registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (error?.code === "ERR_MODULE_NOT_FOUND" && /^\..*\.js$/.test(specifier)) {
        return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
      }
      throw error;
    }
  },
});
const kit = await import("../packages/test-kit/src/index.ts");

const cacheMain = resolve(options["cache-main"] ?? join(repositoryRoot, "apps/cache/dist/main.js"));
const systems = options.systems.split(",");
const attacks = reliabilityAttacks(kit).filter(
  (attack) => options.attacks === undefined || options.attacks.split(",").includes(attack.key),
);
const workDirectory = mkdtempSync(join(tmpdir(), "regmirror-reliability-"));
const cleanUps = [];
process.on("exit", () => {
  killAllChildren();
  rmSync(workDirectory, { recursive: true, force: true });
});

const started = Date.now();
const progress = (text) =>
  process.stderr.write(
    `[reliability ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${text}\n`,
  );

const upstream = await kit.startUpstreamRegistry();
cleanUps.push(() => upstream.stop());
const results = new Map();
let runs = 0;
for (const attack of attacks) {
  for (const system of systems) {
    runs += 1;
    progress(`${attack.key} on ${system}`);
    const work = join(workDirectory, `run-${runs}`);
    const attackCleanUps = [];
    const context = {
      upstream,
      work,
      onCleanUp: (cleanUp) => attackCleanUps.push(cleanUp),
      async faultProxy(target = upstream.url) {
        const proxy = await kit.startFaultProxy({ target });
        attackCleanUps.push(() => proxy.stop());
        return proxy;
      },
      async start({ remoteUrl, dataDirectory, credentials }) {
        const running =
          system === "regmirror"
            ? await startRegmirrorCache({
                workDirectory: work,
                remoteUrl,
                cacheMain,
                environment: cacheImageEnvironment(repositoryRoot),
                dataDirectory,
                credentials,
              })
            : await startDistributionProxy({
                workDirectory: work,
                remoteUrl,
                dataDirectory,
                credentials,
              });
        attackCleanUps.push(() => running.stop());
        return running;
      },
    };
    let outcome;
    try {
      outcome = await attack.run(context);
    } catch (error) {
      outcome = `(the attack failed to run: ${error.message.split("\n")[0]})`;
    }
    for (const cleanUp of attackCleanUps.reverse()) await cleanUp().catch?.(() => {});
    results.set(`${attack.key} ${system}`, outcome);
    progress(`  ${outcome}`);
  }
}
for (const cleanUp of cleanUps) await cleanUp();

const machine = await describeMachine();
const lines = [
  `Measured ${new Date().toISOString().slice(0, 10)}: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, load ${machine.loadAtStart} at the start; Node ${machine.node}; ${machine.dockerRegistry}; cache ${cacheMain}.`,
  "",
  `| attack | ${systems.join(" | ")} |`,
  `| --- | ${systems.map(() => "---").join(" | ")} |`,
  ...attacks.map(
    (attack) =>
      `| ${attack.title} | ${systems.map((system) => results.get(`${attack.key} ${system}`)).join(" | ")} |`,
  ),
];
process.stdout.write(`${lines.join("\n")}\n`);
process.exit(0);
