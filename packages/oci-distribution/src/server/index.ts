// The registry server's public API.
export * from "./byte-range.js";
export * from "./filesystem-storage.js";
export { sendRegistryError } from "./http-exchange.js";
export * from "./registry-handler.js";
export * from "./registry-route.js";
export type * from "./registry-storage.js";
export { isBufferedBlob } from "./registry-storage.js";
export * from "./server-limits.js";
