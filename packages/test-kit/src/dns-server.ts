// A real DNS server on loopback (Debian's dnsmasq) answering A and AAAA records from a hosts file
// that the test replaces while it runs (dnsmasq reads it again on SIGHUP).

import { promises as dns } from "node:dns";
import { writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import type { Logger } from "@regmirror/core";
import { TestKitError } from "./errors.js";
import { freePort, retryOnAddressInUse } from "./free-port.js";
import { kitLogger } from "./kit-logger.js";
import { startTrackedProcess, waitUntilReady } from "./processes.js";
import { makeTempDirectory, removeTempDirectory } from "./temp-directory.js";

/** Names and their addresses: IPv4 ones answer A queries, IPv6 ones AAAA queries. */
export type DnsRecords = Record<string, readonly string[]>;

export interface DnsServerOptions {
  domain: string;
  records?: DnsRecords;
  /** Where a start again on a new port is told; default the kit's log on stderr. */
  logger?: Logger;
}

export interface DnsServer {
  /** `127.0.0.1:PORT`, as node:dns `setServers` and regmirror's `members.dns.server` take it. */
  address: string;
  /**
   * Replaces every record; resolves once the server answers with the new ones (a name left out
   * then has none: NXDOMAIN inside `domain`).
   */
  setRecords(records: DnsRecords): Promise<void>;
  stop(): Promise<void>;
}

function hostsFile(records: DnsRecords): string {
  const lines: string[] = [];
  for (const [name, addresses] of Object.entries(records)) {
    if (!name.includes(".")) {
      throw new TestKitError("BAD_INPUT", `DNS name ${name} needs a domain, like ${name}.test`);
    }
    for (const address of addresses) {
      if (isIP(address) === 0) {
        throw new TestKitError("BAD_INPUT", `${address} (for ${name}) is not an IP address`);
      }
      lines.push(`${address} ${name}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** What the server answers for `name` now, both families, sorted (no records: empty). */
async function answerFor(resolver: dns.Resolver, name: string): Promise<string[]> {
  const family = (resolve: () => Promise<string[]>) =>
    resolve().catch((error: { code?: string }) => {
      if (error.code === dns.NOTFOUND || error.code === dns.NODATA) return [];
      throw error;
    });
  const [v4, v6] = await Promise.all([
    family(() => resolver.resolve4(name)),
    family(() => resolver.resolve6(name)),
  ]);
  return [...v4, ...v6].sort();
}

/**
 * Starts dnsmasq on 127.0.0.1 at a free port, authoritative for `domain` (names there that are
 * not in the records answer NXDOMAIN; nothing is forwarded anywhere).
 */
export function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  // dnsmasq binds the port itself: it may be taken between the pick and the bind.
  return retryOnAddressInUse("dnsmasq", async () => startDnsServerOn(await freePort(), options), {
    logger: options.logger ?? kitLogger,
  });
}

async function startDnsServerOn(port: number, options: DnsServerOptions): Promise<DnsServer> {
  const hosts = hostsFile(options.records ?? {});
  const directory = makeTempDirectory("regmirror-dns-");
  const hostsPath = join(directory, "hosts");
  writeFileSync(hostsPath, hosts);
  const address = `127.0.0.1:${port}`;
  const server = startTrackedProcess({
    name: "dnsmasq",
    command: "dnsmasq",
    args: [
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      `--addn-hosts=${hostsPath}`,
      `--local=/${options.domain}/`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      `--port=${port}`,
      "--log-facility=-",
      // As root it would switch to the user "nobody", which may not read the temporary directory.
      ...(process.getuid?.() === 0 ? ["--user=root"] : []),
    ],
  });
  const resolver = new dns.Resolver({ timeout: 1_000, tries: 1 });
  resolver.setServers([address]);
  const probe = `regmirror-probe.${options.domain}`;
  try {
    await waitUntilReady(
      `dnsmasq on ${address}`,
      async () => {
        await answerFor(resolver, probe);
        return true;
      },
      { process: server },
    );
  } catch (error) {
    await server.stop();
    removeTempDirectory(directory);
    throw error;
  }
  return {
    address,
    async setRecords(records) {
      writeFileSync(hostsPath, hostsFile(records));
      process.kill(server.pid, "SIGHUP");
      const expected = Object.entries(records).map(([name, addresses]) => ({
        name,
        addresses: [...addresses].sort(),
      }));
      await waitUntilReady(
        `dnsmasq on ${address} answering the new records`,
        async () => {
          for (const { name, addresses } of expected) {
            const answer = await answerFor(resolver, name);
            if (answer.join(",") !== addresses.join(",")) return false;
          }
          return true;
        },
        { process: server },
      );
    },
    async stop() {
      await server.stop();
      removeTempDirectory(directory);
    },
  };
}
