// Helpers for tests against a registry: `@regmirror/oci-distribution/testing`.
export {
  createExampleRegistry,
  type ExampleRegistry,
  type ExampleRegistryOptions,
} from "./example-registry.js";
export { createMemoryStorage, type MemoryStorageOptions } from "./memory-storage.js";
