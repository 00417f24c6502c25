/**
 * Members from Kubernetes: the ready endpoints of one Service's EndpointSlices (readiness decides
 * who is a member), read with the pod's service account every `intervalMs` (follow-members.ts:
 * a read that fails keeps the last list); until the first read succeeds this replica is alone
 * (it owns everything, as a cache without peers would). A replica not (yet) in the list asks
 * the members for all it misses, and only then upstream.
 */
import { readFile } from "node:fs/promises";
import { request } from "node:https";
import type { Logger } from "@regmirror/core";
import { type PeerMembersSource, peerMemberUrl } from "@regmirror/schemas";
import { followMembers, type MembersReader, type MembersWatch } from "./follow-members.js";
import type { PeerMembership } from "./peer-membership.js";
import type { PeerMetrics } from "./peer-metrics.js";

type KubernetesMembers = Extract<PeerMembersSource, { kind: "kubernetes" }>;

interface EndpointSliceList {
  items?: {
    ports?: { name?: string; port?: number }[] | null;
    endpoints?: { addresses?: string[]; conditions?: { ready?: boolean | null } }[] | null;
  }[];
}

/** The member URLs an EndpointSlice list gives: ready endpoints on the named (or first) port. */
export function membersOfEndpointSlices(
  list: EndpointSliceList,
  source: Pick<KubernetesMembers, "portName" | "scheme">,
): string[] {
  const urls: string[] = [];
  for (const slice of list.items ?? []) {
    const ports = slice.ports ?? [];
    const port = (
      source.portName === null ? ports[0] : ports.find((p) => p.name === source.portName)
    )?.port;
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      // A missing ready condition means ready (the API's rule).
      if (endpoint.conditions?.ready === false) continue;
      const address = endpoint.addresses?.[0];
      if (address === undefined) continue;
      urls.push(peerMemberUrl(source.scheme, address, port));
    }
  }
  return urls;
}

function getJson(url: URL, token: string, ca: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const call = request(
      url,
      {
        headers: { authorization: `Bearer ${token}`, accept: "application/json" },
        ca,
        timeout: 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () => {
          if (response.statusCode !== 200) {
            reject(new Error(`the API server answered HTTP ${response.statusCode}`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    call.on("timeout", () => call.destroy(new Error("the API server did not answer within 10 s")));
    call.on("error", reject);
    call.end();
  });
}

/** Reads the members now and every `intervalMs`, updating `membership`. */
export function followEndpointSlices(
  source: KubernetesMembers,
  membership: PeerMembership,
  metrics: Pick<PeerMetrics, "membershipReadFailed">,
  logger: Logger,
): MembersWatch {
  const url = new URL(
    `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(source.namespace)}/endpointslices`,
    source.apiServer,
  );
  url.searchParams.set("labelSelector", `kubernetes.io/service-name=${source.service}`);
  const reader: MembersReader = {
    source: "kubernetes",
    where: { service: source.service, namespace: source.namespace },
    async read() {
      // Read each time: the kubelet rotates the projected token.
      const [token, ca] = await Promise.all([
        readFile(source.tokenFile, "utf8"),
        readFile(source.caFile, "utf8"),
      ]);
      const list = (await getJson(url, token.trim(), ca)) as EndpointSliceList;
      // Until this replica is ready it is no member: it asks the others, as they expect.
      return membersOfEndpointSlices(list, source);
    },
  };
  return followMembers(reader, source.intervalMs, membership, metrics, logger);
}
