/**
 * Debian's chromium through playwright-core, for the real-browser tests. CI installs it; when it
 * is missing the tests FAIL with a clear message (they never skip).
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Throws a clear error when /usr/bin/chromium is missing. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the real-browser test needs Debian's chromium (apt-get install chromium).`,
    );
  }
}

/** Launches headless chromium (after requireChromium). */
export function launchChromium(): Promise<Browser> {
  requireChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
