// Builds Kubernetes commands (kube-apiserver, kubelet, ...) from the k8s.io/kubernetes Go module,
// for tests that run a real API server or a real node (docs/adr/0008, docs/adr/0023).
//
//   node scripts/go-builds/kubernetes.mjs OUT_DIR VERSION COMMAND...
//   e.g. node scripts/go-builds/kubernetes.mjs /tmp/k8s v1.36.3 kube-apiserver kubelet
//
// k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every k8s.io/* staging
// module with ./staging/src/k8s.io/X, and replace directives only count in the main module.
// So we write a wrapper module that requires k8s.io/kubernetes and replaces each staging
// module with its published twin (k8s.io/X v0.N.M for kubernetes v1.N.M), then build the
// commands from there in ONE `go build`: they share most of their packages, which the Go
// toolchain then compiles once and in parallel. Plain ESM for Node 20+, no dependencies.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { go, progressReporter } from "./go-command.mjs";

const [outDirectoryArgument, version, ...commands] = process.argv.slice(2);
const versionPattern = /^v1\.(\d+)\.(\d+)$/;
const commandPattern = /^kube[a-z-]*$/;
if (
  !outDirectoryArgument ||
  !version ||
  !versionPattern.test(version) ||
  commands.length === 0 ||
  !commands.every((command) => commandPattern.test(command))
) {
  console.error(
    "usage: node scripts/go-builds/kubernetes.mjs OUT_DIR VERSION COMMAND... (e.g. /tmp/k8s v1.36.3 kube-apiserver kubelet)",
  );
  process.exit(2);
}
const outDirectory = resolve(outDirectoryArgument);
const [, minor, patch] = version.match(versionPattern);
const stagingVersion = `v0.${minor}.${patch}`;

const progress = progressReporter("kubernetes");

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
    "module regmirror.local/kubernetes-build",
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

/** What hack/lib/version.sh stamps, so /version and --version report the real release. */
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

const workDirectory = mkdtempSync(join(tmpdir(), "kubernetes-build-"));
try {
  const goMod = readKubernetesGoMod();
  progress(
    `wrapper module pins ${goMod.stagingModules.length} staging modules at ${stagingVersion}`,
  );
  writeFileSync(join(workDirectory, "go.mod"), wrapperGoMod(goMod));
  const binDirectory = join(outDirectory, "bin");
  mkdirSync(binDirectory, { recursive: true });
  progress(
    `go build ${commands.join(", ")} (downloads modules, then compiles; long on a fresh machine)`,
  );
  go(
    [
      "build",
      "-mod=mod",
      "-trimpath",
      "-ldflags",
      ["-s", "-w", ...versionLinkerFlags()].join(" "),
      // With several packages, -o names a directory: each command lands there under its name.
      "-o",
      `${binDirectory}/`,
      ...commands.map((command) => `k8s.io/kubernetes/cmd/${command}`),
    ],
    { cwd: workDirectory },
  );
  for (const command of commands) {
    const reported = execFileSync(join(binDirectory, command), ["--version"], {
      encoding: "utf8",
    }).trim();
    progress(`built ${join(binDirectory, command)} (${reported})`);
  }
} finally {
  rmSync(workDirectory, { recursive: true, force: true });
}
