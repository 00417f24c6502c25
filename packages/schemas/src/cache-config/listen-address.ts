/** Where a server listens. `host` is an IP address or name; `port` 0 picks a free port. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export const listenAddressExpectation =
  "host:port like 0.0.0.0:5000, :5000 (all interfaces) or [::1]:5000";

/**
 * Parses Go-style listen addresses as distribution writes them. An empty host (":5000") means
 * every IPv4 interface, which is what the registry's documentation promises.
 */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text.trim());
  if (!match) return undefined;
  const [, bracketedHost, plainHost, portText = ""] = match;
  const port = Number(portText);
  if (port > 65_535) return undefined;
  const host =
    bracketedHost ?? (plainHost === "" || plainHost === undefined ? "0.0.0.0" : plainHost);
  return { host, port };
}

export function formatListenAddress(address: ListenAddress): string {
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${host}:${address.port}`;
}
