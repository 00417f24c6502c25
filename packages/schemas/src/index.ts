// Schemas both regmirror apps share. See README.md.
export * from "./cache-config/index.js";
export * from "./registry-mirror/index.js";
