import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { eventually, makeTempDirectory } from "@regmirror/test-kit";

/** A node root with a containerd v2 config that sets config_path, and an /etc/hosts. */
export async function makeNodeRoot(): Promise<string> {
  const root = makeTempDirectory("node-agent-root-");
  await mkdir(join(root, "etc/containerd"), { recursive: true });
  await writeFile(
    join(root, "etc/containerd/config.toml"),
    'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n',
  );
  await writeFile(join(root, "etc/hosts"), "127.0.0.1 localhost\n");
  return root;
}

/** A desired node state serving docker.io from one mirror endpoint. */
export function desiredState(endpoint: string, caPem: string): string {
  return JSON.stringify({
    runtimes: ["containerd", "hosts-file"],
    mirrors: [
      { name: "hub", endpoint, registries: [{ host: "docker.io" }], caPem, dialTimeout: "1s" },
    ],
    hostsFileEntries: [{ host: "hub.mirror.local", ip: "10.96.0.10" }],
  });
}

export function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  return eventually(
    async () => {
      const value = await probe().catch(() => undefined);
      if (value === undefined)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      return value;
    },
    timeoutMs,
    50,
  );
}
