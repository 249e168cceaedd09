// The console's browser tests: Debian's Chromium (Playwright's own download cannot reach its
// host), against a running local stack (web/scripts/e2e.sh starts one). Screenshots of each
// main screen are saved under web/artifacts/.
import { defineConfig } from "@playwright/test";
import { chromiumLaunch } from "./scripts/chromium.mjs";

const consoleUrl = process.env.TESSERA_CONSOLE_URL ?? "http://localhost:3001";

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results",
  timeout: 120_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: consoleUrl,
    locale: "zh-TW",
    timezoneId: "Asia/Taipei",
    acceptDownloads: true,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: chromiumLaunch,
  },
});
