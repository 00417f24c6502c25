import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import {
  type KubeApiServer,
  makeTempDirectory,
  removeTempDirectory,
  startKubeApiServer,
  toolPath,
} from "@regmirror/test-kit";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Compiling and starting servers waits for CPU on a shared machine: generous time limits, and
// every wait is for a result (an exit, an object), never for a fixed time.
import {
  type ConsumerProject,
  createConsumerProject,
  type ModuleKind,
} from "../src/consumer-project.js";
import { runExample, startExample } from "../src/example-process.js";
import { type PackedPackage, packWorkspace, publishedWorkspaces } from "../src/packed-packages.js";
import { readmeExamples } from "../src/readme-examples.js";

const workspaces = publishedWorkspaces();
const examples = workspaces.flatMap((workspace) =>
  readmeExamples(join(workspace.directory, "README.md")).map((example) => ({
    ...example,
    packageName: workspace.name,
  })),
);
const typescript7 = join(import.meta.dirname, "..", "node_modules", "typescript-7", "bin", "tsc");
const typescript59 = join(import.meta.dirname, "..", "node_modules", "typescript", "bin", "tsc");
const attw = join(
  import.meta.dirname,
  "..",
  "node_modules",
  "@arethetypeswrong",
  "cli",
  "dist",
  "index.js",
);
/** What each README example must print when it runs (the k8s-reconciler one has its own test). */
const runs: Record<string, { env?: () => Record<string, string>; output: RegExp[] }> = {
  "core-example.ts": {
    output: [
      /digest sha256:[0-9a-f]{64}, encoded [0-9a-f]{12}/,
      /refused: DIGEST_MISMATCH/,
      /1m30s is 90000 ms, written 1m30s/,
    ],
  },
  "blob-store-example.ts": {
    output: [/stored sha256:[0-9a-f]{64}: 27 bytes, new: true/, /bytes 0-4: hello/],
  },
  "node-trust-example.ts": {
    output: [
      /apply: changed/,
      /created \/etc\/containerd\/certs\.d\/docker\.io\/hosts\.toml/,
      /again: unchanged/,
      /\[host\."http:\/\/cache\.regmirror\.svc:5000"\]/,
      /remove: removed/,
    ],
  },
  "oci-distribution-example.ts": {
    output: [
      /manifest sha256:[0-9a-f]{64} application\/vnd\.oci\.image\.manifest\.v1\+json/,
      /layer: hello, layer/,
      /copy: mounted/,
      /tag: v1/,
    ],
  },
  "schemas-example.ts": {
    output: [
      /upstream: https:\/\/registry-1\.docker\.io/,
      /storage\.filesystem\.rootdirectroy/,
      /default upstreams: 1/,
    ],
  },
  "envtest-example.ts": {
    env: () => ({
      TEST_ASSET_ETCD: toolPath("etcd"),
      TEST_ASSET_KUBE_APISERVER: toolPath("kube-apiserver"),
    }),
    output: [/created ConfigMap demo\/settings/, /the unprivileged user got 403/],
  },
};

const moduleKinds: ModuleKind[] = ["module", "commonjs"];

let scratch: string;
let packed: PackedPackage[] = [];
const projects = new Map<ModuleKind, ConsumerProject>();
/** Compilations started together in beforeAll (the machine's cores are shared): by "kind typescript". */
const compilations = new Map<string, Promise<{ ok: boolean; output: string }>>();
const stopCompilers = new AbortController();
/** arethetypeswrong of each tarball, started together in beforeAll: by package name. */
const typeAnalyses = new Map<string, Promise<{ code: number | null; output: string }>>();
let apiServerStarting: Promise<KubeApiServer> | undefined;

/** One API server for the file, started by the first test that needs it. */
function sharedApiServer(): Promise<KubeApiServer> {
  apiServerStarting ??= startKubeApiServer();
  return apiServerStarting;
}

beforeAll(async () => {
  scratch = makeTempDirectory("consumer-projects-");
  packed = workspaces.map((workspace) => packWorkspace(workspace, join(scratch, "tarballs")));
  for (const { name, tarball } of packed) {
    const args = [tarball, "--ignore-rules", "cjs-resolves-to-esm", "--no-color"];
    typeAnalyses.set(name, runExample(attw, scratch, {}, args));
  }
  const created = await Promise.all(
    moduleKinds.map((kind) =>
      createConsumerProject(join(scratch, kind), kind, packed, {
        // The k8s-reconciler and envtest examples use client-node, as their READMEs say.
        "@kubernetes/client-node": "^2.0.1",
      }),
    ),
  );
  for (const project of created) {
    for (const example of examples) project.addSource(example.fileName, example.code);
    projects.set(project.kind, project);
    compilations.set(`${project.kind} 7`, project.compile(typescript7, [], stopCompilers.signal));
    compilations.set(
      `${project.kind} 5.9`,
      project.compile(typescript59, ["--noEmit"], stopCompilers.signal),
    );
  }
}, 600_000);

afterAll(async () => {
  stopCompilers.abort();
  await (await apiServerStarting?.catch(() => undefined))?.stop();
  if (scratch) await removeTempDirectory(scratch);
});

function project(kind: ModuleKind): ConsumerProject {
  const found = projects.get(kind);
  if (!found) throw new Error(`no ${kind} project: beforeAll failed`);
  return found;
}

describe("each published package as packed", () => {
  it("has at least one complete example program in its README", () => {
    const withExamples = new Set(examples.map((example) => example.packageName));
    expect(
      workspaces.map((workspace) => workspace.name).filter((name) => !withExamples.has(name)),
    ).toEqual([]);
  });

  it.each(workspaces.map((workspace) => workspace.name))(
    "%s: publint finds nothing; the exports name only files the tarball has",
    async (name) => {
      const tarball = readFileSync(packedPackage(name).tarball);
      const { messages, pkg } = await publint({
        pack: {
          tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.length),
        },
        strict: true,
      });
      expect(messages.map((message) => formatMessage(message, pkg))).toEqual([]);
      const installed = JSON.parse(
        readFileSync(
          join(project("module").directory, "node_modules", name, "package.json"),
          "utf8",
        ),
      ) as { exports: unknown };
      expect(JSON.stringify(installed.exports)).not.toContain("@regmirror/source");
    },
  );

  it.each(workspaces.map((workspace) => workspace.name))(
    "%s: arethetypeswrong finds nothing (require() of ESM is checked by the CommonJS project below)",
    async (name) => {
      // attw 0.18 resolves with TypeScript 5.6, which predates require(esm): it reports every
      // ESM-only package as "dynamic import only" for CommonJS. Node 22.12+ and TypeScript 5.8+
      // (module nodenext) require() it; the commonjs project below compiles and runs that way.
      const analysis = typeAnalyses.get(name);
      if (!analysis) throw new Error(`${name} was not analysed: beforeAll failed`);
      const { code, output } = await analysis;
      expect({ code, output }).toMatchObject({ code: 0 });
    },
    900_000,
  );
});

function compiled(key: string): Promise<{ ok: boolean; output: string }> {
  const compilation = compilations.get(key);
  if (!compilation) throw new Error(`no compilation ${key}: beforeAll failed`);
  return compilation;
}

function packedPackage(name: string): PackedPackage {
  const found = packed.find((entry) => entry.name === name);
  if (!found) throw new Error(`${name} was not packed`);
  return found;
}

describe.each(moduleKinds)(
  "README examples in a fresh %s project (default TypeScript settings, --strict)",
  (kind) => {
    it("compiles every example with TypeScript 7 (what `npm install typescript` gives), without skipLibCheck", async () => {
      const result = await compiled(`${kind} 7`);
      expect(result.output).toBe("");
      expect(result.ok).toBe(true);
    }, 900_000);

    it("type-checks every example with TypeScript 5.9 as well", async () => {
      const result = await compiled(`${kind} 5.9`);
      expect(result.output).toBe("");
      expect(result.ok).toBe(true);
    }, 900_000);

    const script = (fileName: string) =>
      join(project(kind).directory, "dist", fileName.replace(/\.ts$/, ".js"));

    it("runs every example to its documented result", async () => {
      expect((await compiled(`${kind} 7`)).ok).toBe(true);
      expect(Object.keys(runs).concat("k8s-reconciler-example.ts").sort()).toEqual(
        examples.map((example) => example.fileName).sort(),
      );
      for (const [fileName, expected] of Object.entries(runs)) {
        const { code, output } = await runExample(
          script(fileName),
          project(kind).directory,
          expected.env?.() ?? {},
        );
        expect({ fileName, code, output }).toMatchObject({ code: 0 });
        for (const pattern of expected.output) expect(output).toMatch(pattern);
      }
    }, 900_000);

    it("runs the k8s-reconciler controller against a real API server until SIGTERM", async () => {
      expect((await compiled(`${kind} 7`)).ok).toBe(true);
      const apiServer = await sharedApiServer();
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(apiServer.kubeconfigPath);
      const core = kubeConfig.makeApiClient(CoreV1Api);
      const namespace = `demo-${kind}`;
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "settings", labels: { role: "source" } }, data: { ttl: "24h" } },
      });
      const controller = startExample(
        script("k8s-reconciler-example.ts"),
        project(kind).directory,
        {
          KUBECONFIG: apiServer.kubeconfigPath,
        },
      );
      try {
        const copy = await waitFor(
          "the controller's copy",
          async () => {
            try {
              return await core.readNamespacedConfigMap({ name: "settings-copy", namespace });
            } catch {
              return undefined;
            }
          },
          controller.output,
        );
        expect(copy.data).toEqual({ ttl: "24h" });
        expect(copy.metadata?.ownerReferences?.[0]).toMatchObject({
          kind: "ConfigMap",
          name: "settings",
        });
      } finally {
        controller.child.kill("SIGTERM");
      }
      expect({ code: await controller.exited, output: controller.output() }).toMatchObject({
        code: 0,
      });
      expect(controller.output()).toContain("copy-controller stopped");
    }, 900_000);
  },
);

async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  output: () => string,
): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not appear within 60 s:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
