// How the tests and the benchmark start Chromium: Debian's build (Playwright's own download
// cannot reach its host), with the background services off (this machine's network is
// closed, so they would only fail).
export const chromiumLaunch = {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};
