// What a release ships fits together: the workflow files pass actionlint; on a tag the release
// workflow runs the README's image command; the Helm chart and the kustomize base deploy exactly
// the image names and tag that command pushes, and hand the operator's image to the node agents.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { makeTempDirectory, removeTempDirectory, toolPath } from "@regmirror/test-kit";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { chartAppVersion, defaultRepository, repositoryRoot } from "../../src/index.js";

const run = promisify(execFile);
let helmHome: string | undefined;

afterAll(async () => {
  if (helmHome) await removeTempDirectory(helmHome);
});

interface Container {
  image: string;
  args?: string[];
  resources?: Record<string, unknown>;
}

/** The operator Deployment's container in rendered manifests. */
function operatorContainer(manifests: string): Container {
  const deployment = parseAllDocuments(manifests)
    .map(
      (document) =>
        document.toJS() as {
          kind?: string;
          spec?: { template: { spec: { containers: Container[] } } };
        },
    )
    .find((object) => object?.kind === "Deployment");
  const container = deployment?.spec?.template.spec.containers[0];
  if (container === undefined) throw new Error("no operator Deployment rendered");
  return container;
}

async function kustomizeBase(): Promise<string> {
  const { stdout } = await run(toolPath("kustomize"), [
    "build",
    join(repositoryRoot, "deploy/kustomize/base"),
  ]);
  return stdout;
}

async function helmTemplate(): Promise<string> {
  helmHome ??= makeTempDirectory("regmirror-helm-");
  const { stdout } = await run(
    toolPath("helm"),
    [
      "template",
      "regmirror",
      join(repositoryRoot, "deploy/helm/regmirror-operator"),
      "--namespace",
      "regmirror-system",
      // helm built with go install assumes Kubernetes 1.20; the chart needs 1.30 or newer.
      "--kube-version",
      "1.36.3",
    ],
    {
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(helmHome, "cache"),
        HELM_CONFIG_HOME: join(helmHome, "config"),
        HELM_DATA_HOME: join(helmHome, "data"),
      },
    },
  );
  return stdout;
}

async function expectedImages() {
  const version = await chartAppVersion(repositoryRoot);
  return {
    version,
    operator: `${defaultRepository}/regmirror-operator:${version}`,
    cache: `${defaultRepository}/regmirror-cache:${version}`,
  };
}

describe("the release", () => {
  it("every workflow file passes actionlint", async () => {
    const { stdout, stderr } = await run(toolPath("actionlint"), ["-no-color"], {
      cwd: repositoryRoot,
    }).catch((error: { stdout: string; stderr: string }) => error);
    expect(`${stdout}${stderr}`).toBe("");
  });

  it("on a tag, the release workflow checks it is the chart's version and pushes with the README's command", async () => {
    const workflow = parseYaml(
      await readFile(join(repositoryRoot, ".github/workflows/release.yml"), "utf8"),
    ) as {
      on: { push: { tags: string[] } };
      jobs: { images: { if: string; steps: { run?: string }[] } };
    };
    expect(workflow.on.push.tags).toEqual(["v*"]);
    expect(workflow.jobs.images.if).toBe("startsWith(github.ref, 'refs/tags/v')");
    const commands = workflow.jobs.images.steps.flatMap((step) => (step.run ? [step.run] : []));
    expect(commands.join("\n")).toContain("appVersion");
    expect(commands).toContain("npm run image -- --locked --push");
    const readme = await readFile(join(repositoryRoot, "README.md"), "utf8");
    expect(readme).toContain("npm run image -- --push");
  });

  it("the apps, the chart and the kustomize base carry one version", async () => {
    const { version } = await expectedImages();
    for (const app of ["apps/cache", "apps/operator"]) {
      const manifest = JSON.parse(
        await readFile(join(repositoryRoot, app, "package.json"), "utf8"),
      ) as { version: string };
      expect(manifest.version, app).toBe(version);
    }
  });

  it("the kustomize base runs the pushed operator image and gives it the pushed cache image", async () => {
    const images = await expectedImages();
    const container = operatorContainer(await kustomizeBase());
    expect(container.image).toBe(images.operator);
    // --image is what the node agent DaemonSets run.
    expect(container.args).toEqual(
      expect.arrayContaining([`--image=${images.operator}`, `--cache-image=${images.cache}`]),
    );
  });

  it("the Helm chart's defaults run the pushed operator image and give it the pushed cache image", async () => {
    const images = await expectedImages();
    const container = operatorContainer(await helmTemplate());
    expect(container.image).toBe(images.operator);
    expect(container.args).toEqual(
      expect.arrayContaining([`--image=${images.operator}`, `--cache-image=${images.cache}`]),
    );
  });

  it("the Helm chart and the kustomize base give the operator the same resources", async () => {
    const fromHelm = operatorContainer(await helmTemplate()).resources;
    expect(fromHelm).toBeDefined();
    expect(operatorContainer(await kustomizeBase()).resources).toEqual(fromHelm);
  });
});
