import type { NodeFileLayout } from "../src/plan-node-files.js";

/** The usual node locations, for tests that call planNodeFiles directly. */
export const standardNodeFileLayout: NodeFileLayout = {
  containerdCertsDirectory: "/etc/containerd/certs.d",
  dockerCertsDirectory: "/etc/docker/certs.d",
  containersCertsDirectory: "/etc/containers/certs.d",
  crioRegistriesDirectory: "/etc/containers/registries.conf.d",
  hostsFile: "/etc/hosts",
};
