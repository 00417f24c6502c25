// Builds containerd 2 and its ctr from the github.com/containerd/containerd/v2 Go module, for
// tests that need a containerd newer than Debian's 1.6 (e.g. hosts.toml `dial_timeout`, 2.1+).
//
//   node scripts/go-builds/containerd.mjs OUT_DIR VERSION     (VERSION like v2.4.2)
//
// Two commands of one module, so not a plain `install` entry. Static (CGO_ENABLED=0) and
// without the snapshotters that need cgo or devices; the version is stamped as upstream's
// Makefile does, so `ctr version` reports the release. Plain ESM for Node 20+, no dependencies.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

const [outDirectoryArgument, version] = process.argv.slice(2);
if (!outDirectoryArgument || !version || !/^v2\.\d+\.\d+$/.test(version)) {
  console.error("usage: node scripts/go-builds/containerd.mjs OUT_DIR VERSION (e.g. v2.4.2)");
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
    `${module}/cmd/containerd@${version}`,
    `${module}/cmd/ctr@${version}`,
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
