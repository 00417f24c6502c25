// Debian's Chromium, headless, driven by playwright-core (which attaches to a browser it is
// given and never downloads one). Screenshots go to reports/screenshots, the test artifacts.
import { existsSync, mkdirSync } from "node:fs";
import { findBinary } from "@regmirror/test-kit";
import { type Browser, chromium } from "playwright-core";

/** The browser binary itself: Debian's /usr/bin/chromium is a shell wrapper around it. */
function chromiumExecutable(): string {
  const binary = "/usr/lib/chromium/chromium";
  return existsSync(binary) ? binary : findBinary("chromium");
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumExecutable(),
    headless: true,
    // Root in the test machines: Chromium's sandbox needs user namespaces it cannot have there.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

export const screenshotDirectory = new URL("../../reports/screenshots/", import.meta.url).pathname;

export function screenshotPath(name: string): string {
  mkdirSync(screenshotDirectory, { recursive: true });
  return `${screenshotDirectory}${name}.png`;
}
