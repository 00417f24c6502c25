// Cache replicas as real processes on loopback that share their downloads (regmirror.peers):
// each gets its own port, configuration and (for filesystem storage) its own directory.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatListenAddress, peerMemberUrl } from "@regmirror/schemas";
import {
  buildTestImage,
  type FaultProxy,
  htpasswdFile,
  makeTempDirectory,
  pushTestImage,
  type S3Server,
  startFaultProxy,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { peerHeader, signPeerRequest } from "../../src/peers/peer-signature.js";
import { type CacheProcess, startCacheProcess } from "../daemon/cache-process.js";
import { startOnFreePorts } from "../daemon/free-ports.js";
import { type FetchedBody, fetchAll } from "../pull-through/pull-through-harness.js";

export const peerSecret = "dGhlLXJlcGxpY2FzLW9mLW9uZS1jYWNoZS1zaGFyZS10aGlz";

export type ClusterStorage =
  | { kind: "filesystem" }
  | { kind: "s3"; server: S3Server; bucket: string };

export interface Replica {
  /** Its name in the member list (`http://127.0.0.1:PORT` unless named otherwise). */
  url: string;
  /** Where this test reaches it: `http://127.0.0.1:PORT`. */
  clientUrl: string;
  process: CacheProcess;
}

function storageYaml(storage: ClusterStorage, directory: string): string {
  if (storage.kind === "filesystem") {
    return `    filesystem: { rootDirectory: ${join(directory, "store")} }`;
  }
  const { server } = storage;
  return `    s3:
      bucket: ${storage.bucket}
      region: ${server.region}
      endpoint: ${server.endpoint}
      forcePathStyle: true
      credentials: { mode: static, accessKeyId: ${server.accessKeyId}, secretAccessKey: ${server.secretAccessKey} }`;
}

/**
 * Starts `count` replicas of one cache in front of `upstreamUrl`, each listing all of them, or
 * reading its members from `membersYaml(ports)` (the `members:` value) when given. Their ports
 * are picked free and named in every configuration: when one was taken before its replica bound
 * it, all start again on new ports.
 */
export async function startPeerCluster(
  bundle: string,
  options: {
    count: number;
    upstreamUrl: string;
    storage: ClusterStorage;
    /** A replica's URL from its index and port; default `http://127.0.0.1:PORT`. */
    urlOf?: (index: number, port: number) => string;
    membersYaml?: (ports: number[]) => string;
    env?: NodeJS.ProcessEnv;
    /**
     * Replica i listens on `addresses[i]` (loopback addresses of either family), all on one port,
     * and gives its `selfAddress` instead of `self`, as a pod does: members known by address.
     */
    shared?: { addresses: string[] };
  },
): Promise<Replica[]> {
  const { shared } = options;
  const urlOf =
    options.urlOf ??
    ((index: number, port: number) =>
      peerMemberUrl("http", shared?.addresses[index] ?? "127.0.0.1", port));
  const processes = await startOnFreePorts(
    "the replicas",
    shared === undefined ? options.count : 1,
    (picked) => {
      // With `shared`, each replica listens at its own address on the one port picked.
      const ports =
        shared === undefined ? picked : Array<number>(options.count).fill(picked[0] ?? 0);
      const urls = ports.map((port, index) => urlOf(index, port));
      const members = options.membersYaml?.(ports) ?? `{ static: [${urls.join(", ")}] }`;
      return ports.map((port, index) => {
        const directory = makeTempDirectory("regmirror-replica-");
        const configFile = join(directory, "config.yml");
        writeFileSync(
          configFile,
          `http:
  addr: "${formatListenAddress({ host: shared?.addresses[index] ?? "127.0.0.1", port })}"
log:
  accesslog: { disabled: true }
regmirror:
  upstreams:
    - name: upstream
      endpoints: [${options.upstreamUrl}]
  storage:
${storageYaml(options.storage, directory)}
  peers:
    ${shared === undefined ? `self: ${urls[index]}` : `selfAddress: "${shared.addresses[index]}"`}
    secret: ${peerSecret}
    members: ${members}
    timeout: 5s
`,
        );
        return startCacheProcess(
          bundle,
          [configFile],
          directory,
          options.env === undefined ? {} : { env: options.env },
        );
      });
    },
  );
  return processes.map((process, index) => ({
    url: urlOf(index, Number(new URL(process.url).port)),
    clientUrl: process.url,
    process,
  }));
}

/** A counter or gauge of a replica's /metrics, summed over its label sets (0 when absent). */
export async function metricOf(replica: Replica, name: string): Promise<number> {
  const text = await (await fetch(`${replica.clientUrl}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

/** A real docker-registry behind the kit's counting fault proxy, holding one test image. */
export interface CountedUpstream {
  registry: UpstreamRegistry;
  proxy: FaultProxy;
  image: TestImage;
  stop(): Promise<void>;
}

export async function startCountedUpstream(
  repository: string,
  layers: number[],
): Promise<CountedUpstream> {
  const registry = await startUpstreamRegistry();
  const proxy = await startFaultProxy({ target: registry.url });
  const image = await buildTestImage({ seed: repository, layers });
  await pushTestImage(image, registry, repository, { tag: "v1" });
  const stop = () => Promise.all([proxy.stop(), registry.stop()]).then(() => undefined);
  return { registry, proxy, image, stop };
}

/** A GET as another replica sends it, signed with `secret`. */
export function signedFetch(
  baseUrl: string,
  path: string,
  secret = peerSecret,
  nowMs = Date.now(),
): Promise<FetchedBody> {
  const signature = signPeerRequest(secret, {
    method: "GET",
    path,
    sender: "http://127.0.0.1:1",
    nowMs,
  });
  return fetchAll(`${baseUrl}${path}`, { headers: { [peerHeader]: signature } });
}

/**
 * One replica (its own only member) with htpasswd client auth for the user carol, in front of
 * `upstreamUrl`, as native YAML; `regmirrorExtra` adds keys under `regmirror:` (e.g. workers).
 */
export function htpasswdReplicaYaml(
  directory: string,
  port: number,
  upstreamUrl: string,
  regmirrorExtra = "",
): string {
  writeFileSync(
    join(directory, "htpasswd"),
    htpasswdFile([{ username: "carol", password: "carol-password" }]),
  );
  return `http:
  addr: 127.0.0.1:${port}
regmirror:
${regmirrorExtra}  upstreams: [{ name: upstream, endpoints: [${upstreamUrl}] }]
  storage: { filesystem: { rootDirectory: ${join(directory, "store")} } }
  auth: { mode: htpasswd, htpasswdFile: ${join(directory, "htpasswd")} }
  peers:
    self: http://127.0.0.1:${port}
    secret: ${peerSecret}
    members: { static: [http://127.0.0.1:${port}] }
`;
}
