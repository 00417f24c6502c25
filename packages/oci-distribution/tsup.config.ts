export { libraryWithTesting as default } from "../../tsup.shared.js";
