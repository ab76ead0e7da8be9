import { defineConfig } from "@playwright/test";

/** Browser tests run against a server that `npm test` starts (BASE_URL), in Debian's chromium. */
export default defineConfig({
  testDir: "e2e",
  // The cluster specs start their own instances; `npm test` runs them by path, once per store.
  testIgnore: process.env.E2E_SUITE === "cluster" ? [] : ["cluster/**"],
  outputDir: "artifacts/playwright",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  use: {
    baseURL: process.env.BASE_URL ?? "http://127.0.0.1:3000",
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
});
