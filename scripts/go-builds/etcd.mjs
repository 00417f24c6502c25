// Builds etcd from the go.etcd.io/etcd/server/v3 Go module, the storage behind the tests'
// kube-apiserver (docs/adr/0008-kubernetes-api-server-for-tests.md).
//
//   node scripts/go-builds/etcd.mjs OUT_DIR VERSION     (VERSION like v3.6.8)
//
// go.etcd.io/etcd/server/v3 cannot be `go install`ed: its go.mod replaces the sibling etcd
// modules with ../api, ../pkg... So we build it from a wrapper module that requires it; the
// siblings then resolve to the published versions it requires. Plain ESM for Node 20+.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { go, progressReporter } from "./go-command.mjs";

const [outDirectoryArgument, version] = process.argv.slice(2);
if (!outDirectoryArgument || !version || !/^v3\.\d+\.\d+$/.test(version)) {
  console.error("usage: node scripts/go-builds/etcd.mjs OUT_DIR VERSION (e.g. v3.6.8)");
  process.exit(2);
}
const outDirectory = resolve(outDirectoryArgument);
const serverModule = "go.etcd.io/etcd/server/v3";

const progress = progressReporter("etcd");

const workDirectory = mkdtempSync(join(tmpdir(), "etcd-build-"));
try {
  progress(`fetching the go.mod of ${serverModule}@${version}`);
  const info = JSON.parse(
    go(["mod", "download", "-json", `${serverModule}@${version}`], { capture: true }),
  );
  const goLine = readFileSync(info.GoMod, "utf8").match(/^go \S+$/m)?.[0];
  if (!goLine) throw new Error(`${serverModule}@${version}: go.mod has no go directive`);
  writeFileSync(
    join(workDirectory, "go.mod"),
    `module regmirror.local/etcd-build\n\n${goLine}\n\nrequire ${serverModule} ${version}\n`,
  );
  mkdirSync(join(outDirectory, "bin"), { recursive: true });
  const output = join(outDirectory, "bin", "etcd");
  progress(`go build ${serverModule} (downloads modules, then compiles)`);
  go(["build", "-mod=mod", "-trimpath", "-ldflags", "-s -w", "-o", output, serverModule], {
    cwd: workDirectory,
  });
  const reported = execFileSync(output, ["--version"], { encoding: "utf8" }).split("\n")[0];
  progress(`built ${output} (${reported})`);
} finally {
  rmSync(workDirectory, { recursive: true, force: true });
}
