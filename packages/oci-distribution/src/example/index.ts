export * from "./example-registry.js";
