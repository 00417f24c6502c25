export * from "./client/index.js";
export * from "./model/index.js";
export * from "./server/index.js";
