/**
 * How the browser tests and the web benchmark launch Chromium: Debian's package, not a Playwright
 * download (the machine's package manager keeps it patched), headless and quiet.
 */
export const chromiumLaunchOptions = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};
