/**
 * `npm run test:security`: the security suite against the built app (run `npx next build`
 * first), for every store of testing/stores.ts or `--stores cookie,database`. Per store one line
 * `security [<store>]: requests N, 5xx N, unexpected accepts N` and its failures; then
 * `security: N passed, N failed` (stores). Exits non-zero on any 5xx, unexpected accept or failure.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../../lib/embedded-postgres";
import { startStack } from "../stack";
import { E2E_STORES } from "../stores";
import { findLeaks, findStackTraces } from "./log-check";
import { PART_SETTINGS, runStoreSecurity } from "./store-run";

const MAX_PRINTED_FAILURES = 40;
const args = process.argv.slice(2);
const storesArg = args.includes("--stores") ? args[args.indexOf("--stores") + 1] : undefined;
const wanted = storesArg?.split(",").filter(Boolean);
const log = (line: string) => console.log(`[security] ${line}`);

/** The log check must be able to fail: it has to find a planted secret before it is trusted. */
function logCheckCanary(): boolean {
  const dir = mkdtempSync(path.join(tmpdir(), "holdfast-security-"));
  try {
    const file = path.join(dir, "canary.log");
    writeFileSync(file, "[holdfast] request failed: token=Xk3_canary_value_0123456789 answer ACDEF. CAPTCHA_TEST_MODE is on\n");
    const found = findLeaks([file], ["Xk3_canary_value_0123456789", "ACDEF", "CAPTC", "absent-secret-value"]);
    if (findStackTraces([file]).length !== 0) return false;
    writeFileSync(file, 'Error: Failed to find Server Action "AAAA".\nRead more: https://nextjs.org/docs/messages/failed-to-find-server-action\n    at ignore-listed frames\n');
    return found.length === 2 && findStackTraces([file]).length === 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  if (!existsSync(".next/BUILD_ID")) {
    console.error("security: no build in .next: run `npx next build` first.");
    return 1;
  }
  const stores = E2E_STORES.filter((s) => !wanted || wanted.includes(s.name));
  const unknown = (wanted ?? []).filter((name) => !E2E_STORES.some((s) => s.name === name));
  if (unknown.length || stores.length === 0) {
    console.error(`security: unknown store ${unknown.join(", ")}; choose from ${E2E_STORES.map((s) => s.name).join(", ")}.`);
    return 1;
  }
  if (!logCheckCanary()) {
    console.error("security: the log check did not find a planted secret or stack trace; it cannot be trusted.");
    return 1;
  }
  // startStack recreates the `holdfast_test` database; a private Postgres keeps that away from a concurrent `npm test`.
  let privatePostgres: EmbeddedDatabase | undefined;
  if (!process.env.TEST_DATABASE_URL) {
    privatePostgres = await startEmbeddedPostgres(path.resolve(".holdfast/security"), Number(process.env.SECURITY_POSTGRES_PORT ?? 54331), log);
    process.env.TEST_DATABASE_URL = privatePostgres.url;
  }
  const started = Date.now();
  const stack = await startStack(log);
  const results: { store: string; ok: boolean }[] = [];
  try {
    for (const line of PART_SETTINGS) log(line);
    for (const store of stores) {
      const t = Date.now();
      log(`store ${store.name}`);
      const r = await runStoreSecurity(stack, store, log);
      const ok = r.fiveXx === 0 && r.unexpectedAccepts === 0 && r.failures.length === 0;
      results.push({ store: store.name, ok });
      console.log(`security [${store.name}]: requests ${r.requests}, 5xx ${r.fiveXx}, unexpected accepts ${r.unexpectedAccepts}`);
      for (const failure of r.failures.slice(0, MAX_PRINTED_FAILURES)) console.log(`  - ${failure}`);
      if (r.failures.length > MAX_PRINTED_FAILURES) console.log(`  … and ${r.failures.length - MAX_PRINTED_FAILURES} more failures`);
      log(`store ${store.name} took ${((Date.now() - t) / 1000).toFixed(0)} s`);
    }
  } finally {
    await stack.stop();
    await privatePostgres?.stop();
  }
  const passed = results.filter((r) => r.ok).length;
  log(`all stores took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`security: ${passed} passed, ${results.length - passed} failed`);
  return passed === results.length ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
