// The oldest Node the daemon and the published packages run on (undici 8's floor). Every
// package.json `engines.node` and the README say the same; a test checks that they agree.

export const minimumNodeVersion = "22.19.0";

function parts(version: string): number[] {
  return version
    .replace(/^v/, "")
    .split(".")
    .map((part) => Number.parseInt(part, 10) || 0);
}

/** A sentence saying why this Node cannot run regmirror-cache, or undefined when it can. */
export function nodeVersionProblem(running: string): string | undefined {
  const have = parts(running);
  const need = parts(minimumNodeVersion);
  for (let index = 0; index < need.length; index += 1) {
    const difference = (have[index] ?? 0) - (need[index] ?? 0);
    if (difference > 0) return undefined;
    if (difference < 0) {
      return `this is Node ${running.replace(/^v/, "")}, and regmirror-cache needs Node ${minimumNodeVersion} or newer (the repository's \`npm start\` brings its own Node 26).`;
    }
  }
  return undefined;
}
