// Builds containerd 2 commands (containerd, ctr, containerd-shim-runc-v2) from the
// github.com/containerd/containerd/v2 Go module, for tests that need a containerd newer than
// Debian's 1.6 (hosts.toml `dial_timeout`, 2.1+; the CRI a kubelet 1.36 needs). A kubelet's
// containerd needs this release's own shim: Debian's 1.6 shim fails with "type with url ...: not
// found".
//
//   node scripts/go-builds/containerd.mjs OUT_DIR VERSION COMMAND...     (VERSION like v2.4.2)
//
// Several commands of one module, so not a plain `install` entry. Static (CGO_ENABLED=0) and
// without the snapshotters that need cgo or devices; the version is stamped as upstream's
// Makefile does, so `ctr version` reports the release. Plain ESM for Node 20+, no dependencies.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

const [outDirectoryArgument, version, ...commands] = process.argv.slice(2);
if (
  !outDirectoryArgument ||
  !version ||
  !/^v2\.\d+\.\d+$/.test(version) ||
  commands.length === 0 ||
  !commands.every((command) => /^[a-z][a-z0-9-]*$/.test(command))
) {
  console.error(
    "usage: node scripts/go-builds/containerd.mjs OUT_DIR VERSION COMMAND... (e.g. /tmp/c v2.4.2 containerd ctr)",
  );
  process.exit(2);
}
const binDirectory = join(resolve(outDirectoryArgument), "bin");
mkdirSync(binDirectory, { recursive: true });

const module = "github.com/containerd/containerd/v2";
const started = Date.now();
// Other engineers share the cores: the Go toolchain runs niced.
execFileSync(
  "nice",
  [
    "-n",
    "10",
    "go",
    "install",
    "-trimpath",
    "-tags=no_btrfs,no_devmapper,no_zfs",
    "-ldflags",
    `-s -w -X ${module}/version.Version=${version}`,
    ...commands.map((command) => `${module}/cmd/${command}@${version}`),
  ],
  {
    env: { ...process.env, CGO_ENABLED: "0", GOBIN: binDirectory },
    cwd: binDirectory,
    stdio: "inherit",
  },
);
const reported = execFileSync(join(binDirectory, "containerd"), ["--version"], {
  encoding: "utf8",
}).trim();
console.log(`[containerd ${((Date.now() - started) / 1000).toFixed(0)}s] built ${reported}`);
