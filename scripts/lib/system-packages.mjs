import { existsSync } from "node:fs";
import { step } from "./log.mjs";
import { hasCommand, run, runOrThrow } from "./run.mjs";

/** Programs the tests start, and the Debian package that ships each one. */
export const requiredPrograms = [
  { command: "docker-registry", debianPackage: "docker-registry" },
  { command: "skopeo", debianPackage: "skopeo" },
  { command: "containerd", debianPackage: "containerd" },
  { command: "ctr", debianPackage: "containerd" },
  // The image builder (packages/image-builder) fetches Debian packages with apt and reads them.
  { command: "dpkg-deb", debianPackage: "dpkg" },
  // The Kubernetes node of the test kit (startKubeNode): runc runs its containers, iptables holds
  // kube-proxy's Service rules, catatonit is the pods' pause process.
  { command: "runc", debianPackage: "runc" },
  { command: "iptables", debianPackage: "iptables" },
  { command: "catatonit", debianPackage: "catatonit" },
  // deploy/monitoring's alert rules and dashboard queries are checked with Prometheus's promtool.
  { command: "promtool", debianPackage: "prometheus" },
  // The cache's status page is tested in a real headless browser (playwright-core drives it).
  { command: "chromium", debianPackage: "chromium" },
  // Peer members from DNS are tested against a real DNS server (dnsmasq-base: the program only,
  // no system service; about 13 s to install with apt-get update).
  { command: "dnsmasq", debianPackage: "dnsmasq-base" },
];

/** Files the tests read, and the Debian package that ships each one. */
export const requiredFiles = [
  // The image builder's apt checks deb.debian.org's signatures with it (Ubuntu lacks it).
  {
    path: "/usr/share/keyrings/debian-archive-keyring.gpg",
    debianPackage: "debian-archive-keyring",
  },
];

/**
 * Installs missing Debian packages when running as root; otherwise says what to install.
 * `programs` and `files` default to what the tests need (the bench passes its own).
 */
export function ensureSystemPackages(env, programs = requiredPrograms, files = requiredFiles) {
  const missing = [
    ...programs
      .filter((program) => !hasCommand(program.command, env))
      .map((program) => ({ what: program.command, debianPackage: program.debianPackage })),
    ...files
      .filter((file) => !existsSync(file.path))
      .map((file) => ({ what: file.path, debianPackage: file.debianPackage })),
  ];
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((item) => item.debianPackage))];
  const commands = missing.map((item) => item.what).join(", ");
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/apt-get")) {
    throw new Error(
      `missing: ${commands}. Install them with: sudo apt-get install -y ${packages.join(" ")}`,
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
