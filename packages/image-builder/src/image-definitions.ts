// What each image is: which app it bundles, where it goes, and how the container starts.
import { nonRootId } from "./layers/base-layer.js";
import { directoryEntry, type LayerEntry } from "./tar/layer-entry.js";

export const imageNames = ["regmirror-cache", "regmirror-operator"] as const;
export type ImageName = (typeof imageNames)[number];

export interface ImageDefinition {
  name: ImageName;
  title: string;
  description: string;
  /** The app's directory, relative to the repository root. */
  appDirectory: string;
  /** The executable's source, relative to the app. */
  entry: string;
  /** Where the bundle goes in the image. */
  installDirectory: string;
  /** Arguments after `node <installDirectory>/main.js` when none are given. */
  defaultArguments: string[];
  environment: Record<string, string>;
  workingDirectory: string;
  exposedPorts: string[];
  /** Directories the image needs besides the bundle's. */
  directories: LayerEntry[];
}

export const imageDefinitions: Record<ImageName, ImageDefinition> = {
  "regmirror-cache": {
    name: "regmirror-cache",
    title: "regmirror-cache",
    description: "A pull-through cache for OCI / Docker registries.",
    appDirectory: "apps/cache",
    entry: "src/main.ts",
    installDirectory: "/opt/regmirror-cache",
    // The MSR content cache convention: the config file is mounted at /config.yml.
    defaultArguments: ["serve", "/config.yml"],
    environment: {
      // A small young generation: serving reuses its buffers, so this keeps ~30 MB off the
      // resident size at no measured cost (docs/adr/0013-blob-bodies-into-lent-buffers.md).
      NODE_OPTIONS: "--max-semi-space-size=2",
    },
    // The built-in default configuration stores under ./data.
    workingDirectory: "/var/lib/regmirror",
    exposedPorts: ["5000/tcp"],
    directories: [
      // Writable for the unprivileged user when no volume is mounted: the default ./data and
      // the MSR docs' store. With a read-only root file system, mount a volume there.
      directoryEntry("var/lib/regmirror", 0o755, nonRootId),
      directoryEntry("var/lib/registry", 0o755, nonRootId),
    ],
  },
  "regmirror-operator": {
    name: "regmirror-operator",
    title: "regmirror-operator",
    description:
      "The regmirror operator (RegistryMirror resources) and its node agent (`node-agent` command).",
    appDirectory: "apps/operator",
    entry: "src/main.ts",
    installDirectory: "/opt/regmirror-operator",
    defaultArguments: ["--help"],
    environment: {},
    workingDirectory: "/",
    exposedPorts: ["8081/tcp"],
    directories: [],
  },
};
