import { existsSync } from "node:fs";
import { step } from "./log.mjs";
import { hasCommand, run, runOrThrow } from "./run.mjs";

/** Programs the tests start, and the Debian package that ships each one. */
export const requiredPrograms = [
  { command: "docker-registry", debianPackage: "docker-registry" },
  { command: "skopeo", debianPackage: "skopeo" },
  { command: "containerd", debianPackage: "containerd" },
  { command: "ctr", debianPackage: "containerd" },
  // The Kubernetes node of the test kit (startKubeNode): runc runs its containers, iptables holds
  // kube-proxy's Service rules, catatonit is the pods' pause process.
  { command: "runc", debianPackage: "runc" },
  { command: "iptables", debianPackage: "iptables" },
  { command: "catatonit", debianPackage: "catatonit" },
];

/** Installs missing Debian packages when running as root; otherwise says what to install. */
export function ensureSystemPackages(env) {
  const missing = requiredPrograms.filter((program) => !hasCommand(program.command, env));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((program) => program.debianPackage))];
  const commands = missing.map((program) => program.command).join(", ");
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/apt-get")) {
    throw new Error(
      `missing programs: ${commands}. Install them with: sudo apt-get install -y ${packages.join(" ")}`,
    );
  }
  step(`installing Debian packages: ${packages.join(" ")}`);
  const aptEnv = { ...env, DEBIAN_FRONTEND: "noninteractive" };
  runOrThrow("apt-get", ["update", "-qq"], { env: aptEnv });
  const status = run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], {
    env: aptEnv,
  });
  if (status !== 0) throw new Error(`apt-get install ${packages.join(" ")} failed (${status})`);
}
