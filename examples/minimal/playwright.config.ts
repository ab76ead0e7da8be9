import { defineConfig } from "@playwright/test";

/**
 * The example's browser test. It runs against a `next start` of the built example that
 * testing/example.ts starts (BASE_URL), with that server's Redis (REDIS_URL), in Debian's chromium.
 */
export default defineConfig({
  testDir: "e2e",
  outputDir: process.env.EXAMPLE_OUTPUT_DIR ?? "../../artifacts/playwright-example-minimal",
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
