// Repository names and tags as the distribution spec allows them, for property tests: path
// components of up to 255 characters with dots, underscores and dashes, names up to 255 in all.
import fc from "fast-check";

const alphanumerics = fc.stringMatching(/^[a-z0-9]{1,12}$/);
const separator = fc.constantFrom(".", "_", "__", "-", "---");

/** `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, of any length the pieces add up to. */
const component = fc
  .tuple(alphanumerics, fc.array(fc.tuple(separator, alphanumerics), { maxLength: 40 }))
  .map(([first, rest]) => first + rest.map(([mark, run]) => mark + run).join(""));

/** One component of `length` characters repeating `pattern`, ending in a letter. */
export function longComponent(pattern: string, length: number): string {
  const repeated = pattern.repeat(Math.ceil(length / pattern.length)).slice(0, length);
  return `${repeated.slice(0, -1).replace(/[._-]+$/, (marks) => "z".repeat(marks.length))}z`;
}

/** A component longer than 200 characters (the old metadata limit), dots and all. */
const longOne = fc
  .tuple(
    fc.constantFrom("a", "a.", "a-", "a__b", "ab.c_d", "x-y.z"),
    fc.integer({ min: 201, max: 255 }),
  )
  .map(([pattern, length]) => longComponent(pattern, length));

/** Valid repository names: 1–255 characters in all, 1–several components. */
export const repositoryName: fc.Arbitrary<string> = fc
  .oneof(
    fc.array(component, { minLength: 1, maxLength: 5 }).map((parts) => parts.join("/")),
    fc
      .tuple(fc.array(component, { maxLength: 2 }), longOne)
      .map(([parents, long]) => [...parents, long].join("/")),
  )
  .filter((name) => name.length <= 255);

/** Valid tags: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`. */
export const tagName: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^\w[\w.-]{0,127}$/),
  fc.constantFrom("latest", `a${".".repeat(127)}`, "x".repeat(128)),
);

/** Names at the edges: the longest single component, all dots, and the longest overall. */
export const edgeRepositoryNames: readonly string[] = [
  "a".repeat(255),
  longComponent("a.", 255),
  longComponent("a-", 201),
  `team/${longComponent("b.", 250)}`,
  Array.from({ length: 16 }, (_, index) => longComponent(`c${index % 10}.`, 15)).join("/"),
];
