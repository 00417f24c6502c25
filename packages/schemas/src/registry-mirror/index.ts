// The RegistryMirror resource: spec and status schemas, parser, defaults and CRD.
export type { ContainerResources } from "./container-resources.js";
export {
  parseRegistryMirrorSpec,
  parseRegistryMirrorStatus,
  RegistryMirrorInvalidError,
} from "./parse-registry-mirror.js";
export {
  maxRegistryMirrorNameLength,
  ownerAnnotation,
  registryMirrorCustomResourceDefinition,
} from "./registry-mirror-crd.js";
export {
  type NodeConfigurationMode,
  registryMirrorApi,
  registryMirrorDefaults,
} from "./registry-mirror-defaults.js";
export type {
  LabelSelector,
  RegistryMirrorSpec,
  VolumeClaimRetention,
  VolumeClaimTemplate,
} from "./registry-mirror-spec.js";
export {
  clientAuthModes,
  exposureTypes,
  nodeConfigurationModes,
  type RegistryMirrorCondition,
  type RegistryMirrorSpecFields,
  type RegistryMirrorSpecInput,
  type RegistryMirrorStatus,
  registryMirrorConditionTypes,
  registryMirrorSpecSchema,
  registryMirrorStatusSchema,
} from "./registry-mirror-spec-schema.js";
export { StructuralSchemaError, toStructuralSchema } from "./structural-schema.js";
