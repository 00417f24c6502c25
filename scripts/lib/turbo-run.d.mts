// Types of turbo-run.mjs's parts that the TypeScript test checks (packages/test-kit).

export interface TaskTails {
  add(line: string): void;
  of(packageName: string): string[];
}

export function createTaskTails(task: string, limit: number): TaskTails;

export const dependencyFrame: RegExp;

export function taskExitCodes(
  summary: unknown,
  task: string,
): Map<string, number | undefined> | undefined;

export function runTurbo(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; task: string; tailLines: number },
): Promise<{
  status: number;
  tails: TaskTails;
  exitCodes: Map<string, number | undefined> | undefined;
}>;
