/**
 * Members from DNS: the A and AAAA records of one name (a headless Service lists its ready pods),
 * each address on the configured port, resolved again every `intervalMs` (follow-members.ts).
 * Only addresses: every replica listens on the same port, and a Service's SRV records would
 * name the same pods with that same port (docs/adr/0037-dns-members-ipv6-and-workers.md).
 * No answer (no records, a server that fails or is silent) keeps the last list: an empty list
 * would make this replica fetch everything from upstream itself.
 */
import { promises as dns } from "node:dns";
import type { Logger } from "@regmirror/core";
import { type PeerMembersSource, peerMemberUrl } from "@regmirror/schemas";
import { followMembers, type MembersWatch } from "./follow-members.js";
import type { PeerMembership } from "./peer-membership.js";
import type { PeerMetrics } from "./peer-metrics.js";

type DnsMembers = Extract<PeerMembersSource, { kind: "dns" }>;

/** A family with no records answers ENODATA, a name that does not exist ENOTFOUND. */
const noRecords: ReadonlySet<string> = new Set([dns.NODATA, dns.NOTFOUND]);

async function addressesOf(resolve: () => Promise<string[]>): Promise<string[]> {
  try {
    return await resolve();
  } catch (error) {
    if (noRecords.has((error as { code?: string }).code ?? "")) return [];
    throw error;
  }
}

/** The member URLs the name resolves to now; throws when DNS fails or gives no address. */
export async function resolveDnsMembers(
  resolver: dns.Resolver,
  source: Pick<DnsMembers, "name" | "port" | "scheme">,
): Promise<string[]> {
  // Both families: a dual-stack Service has both, and a failure of either is no answer.
  const [v4, v6] = await Promise.all([
    addressesOf(() => resolver.resolve4(source.name)),
    addressesOf(() => resolver.resolve6(source.name)),
  ]);
  const addresses = [...v4, ...v6];
  if (addresses.length === 0) throw new Error(`${source.name} has no A or AAAA records`);
  return addresses.map((address) => peerMemberUrl(source.scheme, address, source.port));
}

export function followDnsMembers(
  source: DnsMembers,
  membership: PeerMembership,
  metrics: Pick<PeerMetrics, "membershipReadFailed">,
  logger: Logger,
): MembersWatch {
  // A silent server is failed after two tries of 2 s each.
  const resolver = new dns.Resolver({ timeout: 2_000, tries: 2 });
  if (source.server !== null) resolver.setServers([source.server]);
  return followMembers(
    {
      source: "dns",
      where: { name: source.name, ...(source.server === null ? {} : { server: source.server }) },
      read: () => resolveDnsMembers(resolver, source),
    },
    source.intervalMs,
    membership,
    metrics,
    logger,
  );
}
