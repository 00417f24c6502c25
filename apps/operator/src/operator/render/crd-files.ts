// The RegistryMirror CRD as YAML, and the files it is committed to.
import { registryMirrorCustomResourceDefinition } from "@regmirror/schemas";
import { stringify } from "yaml";

// The RegistryMirror CRD as committed YAML: generated from the zod schema by
// `pnpm generate:crd` (scripts/generate-crd.mjs); a test fails when a copy is out of date.

/** Where the CRD is committed, relative to the repository root. */
export const crdFileLocations = [
  "apps/operator/deploy/crd/regmirror.dev_registrymirrors.yaml",
  "deploy/helm/regmirror-operator/crds/regmirror.dev_registrymirrors.yaml",
  "deploy/kustomize/base/crd/regmirror.dev_registrymirrors.yaml",
] as const;

export function renderCrdYaml(): string {
  return `# Generated from packages/schemas/src/registry-mirror by apps/operator/scripts/generate-crd.mjs.
# Do not edit: change the zod schema and run \`pnpm --filter @regmirror/operator generate:crd\`.
${stringify(registryMirrorCustomResourceDefinition(), { lineWidth: 0 })}`;
}
