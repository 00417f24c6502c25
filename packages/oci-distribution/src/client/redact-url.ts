/** `https://host/path` without query, fragment or user info: safe to log and to put in errors. */
export function redactUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}
