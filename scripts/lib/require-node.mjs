// Imported first by the scripts behind `npm test` and `npm start`: they run on the machine's own
// Node, which must be 20.11 or newer (import.meta.dirname); they install Node 26 for everything
// else. An older Node gets one sentence naming the version, not a stack trace from a later line.
export const minimumScriptNodeVersion = "20.11.0";

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const [needMajor = 0, needMinor = 0] = minimumScriptNodeVersion.split(".").map(Number);
if (major < needMajor || (major === needMajor && minor < needMinor)) {
  console.error(
    `regmirror: this is Node ${process.versions.node}; npm test and npm start need Node ${minimumScriptNodeVersion} or newer to begin (they then install Node 26 for the project).`,
  );
  process.exit(1);
}
