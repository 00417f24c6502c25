// The marked block regmirror keeps in /etc/hosts: render, find, replace, remove.
import type { HostsFileEntry } from "./node-state.js";

export const hostsBlockBegin = "# BEGIN regmirror node-trust (managed by the regmirror node agent)";
export const hostsBlockEnd = "# END regmirror node-trust";

/**
 * The marker lines of one node-trust instance's block: without an instance the ones above, with
 * one they name it, so agents of several mirrors on one node each keep to their own block.
 */
export function hostsBlockMarkers(instance?: string): { begin: string; end: string } {
  if (instance === undefined) return { begin: hostsBlockBegin, end: hostsBlockEnd };
  return {
    begin: `# BEGIN regmirror node-trust ${instance} (managed by the regmirror node agent)`,
    end: `# END regmirror node-trust ${instance}`,
  };
}

/** The marked block for /etc/hosts, one "IP<TAB>host" line per entry. */
export function renderHostsBlock(entries: readonly HostsFileEntry[], instance?: string): string {
  const { begin, end } = hostsBlockMarkers(instance);
  const lines = entries.map((entry) => `${entry.ip}\t${entry.host}`);
  return `${[begin, ...lines, end].join("\n")}\n`;
}

export interface HostsBlockLocation {
  start: number;
  /** Index just past the END marker line, including its line break when there is one. */
  end: number;
  text: string;
}

/** Where the instance's marked block is, by its marker lines; undefined when there is none. */
export function findHostsBlock(content: string, instance?: string): HostsBlockLocation | undefined {
  const markers = hostsBlockMarkers(instance);
  const beginAt = findLine(content, markers.begin, 0);
  if (beginAt < 0) return undefined;
  const endAt = findLine(content, markers.end, beginAt);
  if (endAt < 0) return undefined;
  let end = endAt + markers.end.length;
  if (content[end] === "\n") end += 1;
  return { start: beginAt, end, text: content.slice(beginAt, end) };
}

function findLine(content: string, line: string, from: number): number {
  let index = content.indexOf(line, from);
  while (index >= 0) {
    const startsLine = index === 0 || content[index - 1] === "\n";
    const after = content[index + line.length];
    if (startsLine && (after === undefined || after === "\n")) return index;
    index = content.indexOf(line, index + 1);
  }
  return -1;
}

/**
 * Puts the block in place of an existing one, or at the end. When the file's last line had no
 * line break, one is added first and `separatorAdded` says so, so removal can take it back.
 */
export function upsertHostsBlock(
  content: string,
  block: string,
  instance?: string,
): { content: string; separatorAdded: boolean } {
  const existing = findHostsBlock(content, instance);
  if (existing) {
    return {
      content: content.slice(0, existing.start) + block + content.slice(existing.end),
      separatorAdded: false,
    };
  }
  const separatorAdded = content.length > 0 && !content.endsWith("\n");
  return { content: `${content}${separatorAdded ? "\n" : ""}${block}`, separatorAdded };
}

/** Takes the block out, and the line break added with it when the block is still last. */
export function removeHostsBlock(
  content: string,
  separatorAdded: boolean,
  instance?: string,
): string {
  const existing = findHostsBlock(content, instance);
  if (!existing) return content;
  let start = existing.start;
  const atEnd = existing.end === content.length;
  if (separatorAdded && atEnd && start > 0 && content[start - 1] === "\n") start -= 1;
  return content.slice(0, start) + content.slice(existing.end);
}
