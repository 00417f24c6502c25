// Builds kube-apiserver from the k8s.io/kubernetes Go module, for tests that need a real
// Kubernetes API server (docs/adr/0008-kubernetes-api-server-for-tests.md).
//
//   node scripts/go-builds/kube-apiserver.mjs OUT_DIR VERSION     (VERSION like v1.36.3)
//
// k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every k8s.io/* staging
// module with ./staging/src/k8s.io/X, and replace directives only count in the main module.
// So we write a wrapper module that requires k8s.io/kubernetes and replaces each staging
// module with its published twin (k8s.io/X v0.N.M for kubernetes v1.N.M), then build the
// command from there. Plain ESM for Node 20+, no dependencies.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { go, progressReporter } from "./go-command.mjs";

const [outDirectoryArgument, version] = process.argv.slice(2);
const versionPattern = /^v1\.(\d+)\.(\d+)$/;
if (!outDirectoryArgument || !version || !versionPattern.test(version)) {
  console.error("usage: node scripts/go-builds/kube-apiserver.mjs OUT_DIR VERSION (e.g. v1.36.3)");
  process.exit(2);
}
const outDirectory = resolve(outDirectoryArgument);
const [, minor, patch] = version.match(versionPattern);
const stagingVersion = `v0.${minor}.${patch}`;

const progress = progressReporter("kube-apiserver");

/** The parts of k8s.io/kubernetes's go.mod the wrapper must repeat. */
function readKubernetesGoMod() {
  progress(`fetching the go.mod of k8s.io/kubernetes@${version}`);
  const info = JSON.parse(
    go(["mod", "download", "-json", `k8s.io/kubernetes@${version}`], { capture: true }),
  );
  const text = readFileSync(info.GoMod, "utf8");
  const goLine = text.match(/^go \S+$/m)?.[0];
  if (!goLine) throw new Error(`k8s.io/kubernetes@${version}: go.mod has no go directive`);
  const godebugLines = text.match(/^godebug .+$/gm) ?? [];
  const stagingModules = [...text.matchAll(/^\s*(k8s\.io\/[\w.-]+) => \.\/staging\/src\/\1\s*$/gm)]
    .map((match) => match[1])
    .sort();
  if (stagingModules.length === 0) {
    throw new Error(`k8s.io/kubernetes@${version}: go.mod has no staging replace directives`);
  }
  return { goLine, godebugLines, stagingModules };
}

function wrapperGoMod({ goLine, godebugLines, stagingModules }) {
  return [
    "module regmirror.local/kube-apiserver-build",
    "",
    goLine,
    ...godebugLines,
    "",
    `require k8s.io/kubernetes ${version}`,
    "",
    "replace (",
    ...stagingModules.map((module) => `\t${module} => ${module} ${stagingVersion}`),
    ")",
    "",
  ].join("\n");
}

/** What hack/lib/version.sh stamps, so /version reports the real release. */
function versionLinkerFlags() {
  const values = {
    gitVersion: version,
    gitMajor: "1",
    gitMinor: minor,
    gitTreeState: "clean",
    buildDate: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  };
  return ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"].flatMap((pkg) =>
    Object.entries(values).map(([name, value]) => `-X ${pkg}.${name}=${value}`),
  );
}

const workDirectory = mkdtempSync(join(tmpdir(), "kube-apiserver-build-"));
try {
  const goMod = readKubernetesGoMod();
  progress(
    `wrapper module pins ${goMod.stagingModules.length} staging modules at ${stagingVersion}`,
  );
  writeFileSync(join(workDirectory, "go.mod"), wrapperGoMod(goMod));
  mkdirSync(join(outDirectory, "bin"), { recursive: true });
  const output = join(outDirectory, "bin", "kube-apiserver");
  progress(
    "go build k8s.io/kubernetes/cmd/kube-apiserver (downloads modules, then compiles; long)",
  );
  go(
    [
      "build",
      "-mod=mod",
      "-trimpath",
      "-ldflags",
      ["-s", "-w", ...versionLinkerFlags()].join(" "),
      "-o",
      output,
      "k8s.io/kubernetes/cmd/kube-apiserver",
    ],
    { cwd: workDirectory },
  );
  const reported = execFileSync(output, ["--version"], { encoding: "utf8" }).trim();
  progress(`built ${output} (${reported})`);
} finally {
  rmSync(workDirectory, { recursive: true, force: true });
}
