import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`, listed in .ci/apt-packages.txt); never a downloaded browser. */
export const CHROMIUM = process.env.EDGEPLANE_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return null;
  } catch {
    return `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium; .ci/run does it from .ci/apt-packages.txt)`;
  }
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Headless chromium with a fresh profile directory, no sandbox (tests run as
 * root in containers) and nothing that phones home. The page under test can
 * only reach the gateway that served it (its Content-Security-Policy says
 * `connect-src 'self'`), which the tests bind on loopback.
 */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'edgeplane-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    colorScheme: 'dark',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
