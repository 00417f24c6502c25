// The OCI distribution protocol: model, client and server. See README.md.
export * from "./client/index.js";
export * from "./model/index.js";
export * from "./server/index.js";
