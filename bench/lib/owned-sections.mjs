// docs/benchmarks.md holds every benchmark's tables, but `pnpm bench:replicas` measures its part in
// a run of its own: its section sits between markers, rewritten by that command and carried over
// unchanged when `pnpm bench` rewrites the rest of the file.
import { existsSync, readFileSync } from "node:fs";

const ownedSections = ["replicas"];

function markers(name) {
  return {
    start: `<!-- section "${name}": written by pnpm bench:${name}, kept by pnpm bench -->`,
    end: `<!-- end of section "${name}" -->`,
  };
}

function findSection(text, name) {
  const { start, end } = markers(name);
  const from = text.indexOf(start);
  const to = text.indexOf(end, from);
  if (from < 0 || to < 0) return undefined;
  return { from, to: to + end.length };
}

/** The report with the owned sections of the file it replaces appended, as they were. */
export function keepOwnedSections(report, previousPath) {
  if (!existsSync(previousPath)) return report;
  const previous = readFileSync(previousPath, "utf8");
  const kept = ownedSections
    .map((name) => findSection(previous, name))
    .filter((found) => found !== undefined)
    .map(({ from, to }) => previous.slice(from, to));
  return kept.length === 0 ? report : `${report.trimEnd()}\n\n${kept.join("\n\n")}\n`;
}

/** `text` with section `name` set to `body` (its headings one level down), appended if absent. */
export function replaceOwnedSection(text, name, body) {
  const { start, end } = markers(name);
  const demoted = body.trimEnd().replace(/^(#+) /gm, "#$1 ");
  const section = `${start}\n${demoted}\n${end}`;
  const found = findSection(text, name);
  if (found === undefined) return `${text.trimEnd()}\n\n${section}\n`;
  return `${text.slice(0, found.from)}${section}${text.slice(found.to)}`;
}
