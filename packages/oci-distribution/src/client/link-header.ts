/**
 * The `Link` header (RFC 8288) that registries use to paginate tag lists and the catalog:
 * `</v2/_catalog?last=b&n=2>; rel="next"`. Several links may share one header, separated by
 * commas; a target is resolved against the URL of the response that carried it.
 */

/** The absolute URL of the `rel="next"` link, or undefined when there is none. */
export function nextLinkUrl(
  header: string | readonly string[] | undefined,
  base: URL,
): URL | undefined {
  if (header === undefined) return undefined;
  const values = typeof header === "string" ? [header] : header;
  for (const value of values) {
    for (const link of parseLinks(value)) {
      if (link.rel.includes("next")) {
        try {
          return new URL(link.target, base);
        } catch {
          return undefined;
        }
      }
    }
  }
  return undefined;
}

interface ParsedLink {
  target: string;
  /** Lower-cased relation types (`rel` is a space-separated list). */
  rel: string[];
}

function parseLinks(value: string): ParsedLink[] {
  const links: ParsedLink[] = [];
  let position = 0;
  while (position < value.length) {
    const open = value.indexOf("<", position);
    if (open < 0) break;
    const close = value.indexOf(">", open);
    if (close < 0) break;
    const target = value.slice(open + 1, close);
    position = close + 1;
    const rel: string[] = [];
    // Parameters run to the next comma that is not inside a quoted string.
    while (position < value.length && value[position] !== ",") {
      const match =
        /^\s*;\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;,\s]*))\s*/.exec(
          value.slice(position),
        );
      if (!match) {
        position += 1;
        continue;
      }
      position += match[0].length;
      if (match[1]?.toLowerCase() === "rel") {
        const relation =
          match[2] !== undefined ? match[2].replace(/\\(.)/g, "$1") : (match[3] ?? "");
        rel.push(...relation.toLowerCase().split(/\s+/).filter(Boolean));
      }
    }
    links.push({ target, rel });
  }
  return links;
}
