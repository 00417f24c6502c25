// Tests of the marked /etc/hosts block.
import { describe, expect, it } from "vitest";
import {
  findHostsBlock,
  hostsBlockBegin,
  hostsBlockEnd,
  hostsBlockMarkers,
  removeHostsBlock,
  renderHostsBlock,
  upsertHostsBlock,
} from "./render-hosts-block.js";

const entries = [
  { host: "docker.mirror.local", ip: "10.96.0.10" },
  { host: "ghcr.mirror.local", ip: "fd00::10" },
];

describe("hosts file block", () => {
  it("renders marker lines around one line per entry", () => {
    expect(renderHostsBlock(entries)).toBe(
      `${hostsBlockBegin}\n10.96.0.10\tdocker.mirror.local\nfd00::10\tghcr.mirror.local\n${hostsBlockEnd}\n`,
    );
  });

  it("adds, replaces and removes the block leaving the rest byte for byte", () => {
    const original = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n\n# a comment\n";
    const added = upsertHostsBlock(original, renderHostsBlock(entries));
    expect(added.separatorAdded).toBe(false);
    expect(added.content.startsWith(original)).toBe(true);
    const edited = `${added.content}192.168.1.2 printer\n`;
    const updated = upsertHostsBlock(edited, renderHostsBlock(entries.slice(0, 1)));
    expect(findHostsBlock(updated.content)?.text).toBe(renderHostsBlock(entries.slice(0, 1)));
    expect(updated.content.endsWith("192.168.1.2 printer\n")).toBe(true);
    expect(removeHostsBlock(updated.content, added.separatorAdded)).toBe(
      `${original}192.168.1.2 printer\n`,
    );
  });

  it("adds a line break before the block when the last line had none, and takes it back", () => {
    const original = "127.0.0.1 localhost";
    const added = upsertHostsBlock(original, renderHostsBlock(entries));
    expect(added.separatorAdded).toBe(true);
    expect(added.content).toBe(`${original}\n${renderHostsBlock(entries)}`);
    expect(removeHostsBlock(added.content, true)).toBe(original);
  });

  it("ignores a marker that is not a whole line", () => {
    const text = `# not ours: ${hostsBlockBegin}\n${hostsBlockEnd}\n`;
    expect(findHostsBlock(text)).toBeUndefined();
  });

  it("finds, replaces and removes only its own instance's block", () => {
    const unnamed = renderHostsBlock(entries);
    const hub = renderHostsBlock(entries.slice(0, 1), "hub");
    const ghcr = renderHostsBlock(entries.slice(1), "ghcr");
    expect(hub.startsWith(`${hostsBlockMarkers("hub").begin}\n`)).toBe(true);
    expect(hub.endsWith(`${hostsBlockMarkers("hub").end}\n`)).toBe(true);
    const text = `127.0.0.1 localhost\n${unnamed}${hub}${ghcr}`;
    expect(findHostsBlock(text)?.text).toBe(unnamed);
    expect(findHostsBlock(text, "hub")?.text).toBe(hub);
    expect(findHostsBlock(text, "ghcr")?.text).toBe(ghcr);
    expect(findHostsBlock(text, "gh")).toBeUndefined();
    const replaced = upsertHostsBlock(text, renderHostsBlock(entries, "hub"), "hub").content;
    expect(replaced).toBe(
      `127.0.0.1 localhost\n${unnamed}${renderHostsBlock(entries, "hub")}${ghcr}`,
    );
    expect(removeHostsBlock(text, false, "hub")).toBe(`127.0.0.1 localhost\n${unnamed}${ghcr}`);
  });
});
