// Finds the complete example programs in a README: ```ts blocks whose info string names a file.
import { readFileSync } from "node:fs";

export interface ReadmeExample {
  /** The file name after the language, e.g. `blob-store-example.ts`. */
  fileName: string;
  code: string;
}

const exampleFence = /^```ts ([\w.-]+\.ts)\n([\s\S]*?)^```$/gm;

/** Every ```ts <file>.ts block of the README, in order. */
export function readmeExamples(readmePath: string): ReadmeExample[] {
  const text = readFileSync(readmePath, "utf8");
  return [...text.matchAll(exampleFence)].map((match) => ({
    fileName: match[1] as string,
    code: match[2] as string,
  }));
}
