import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";

/**
 * The zero-configuration default, as a new user meets it: nothing set. `npm run doctor` checks
 * the embedded database that `npm run dev` uses (never "DATABASE_URL is not set"), names a
 * missing migration with its fix, and finds nothing once `npm run db:migrate` ran.
 */
const bare = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^(DATABASE_URL|SESSION_SECRET|SESSION_STORE|REDIS_URL|UPSTASH_.*|CAPTCHA_TEST_MODE|NODE_ENV|TRUST_PROXY)$/.test(key)),
);
const run = (script: string) => spawnSync(process.execPath, ["--import", "tsx", script], { env: bare as NodeJS.ProcessEnv, encoding: "utf8", timeout: 180_000 });

describe("zero configuration", () => {
  it("npm run doctor checks the embedded database, and db:migrate migrates it", () => {
    const first = run("scripts/doctor.ts");
    const before = first.stdout + first.stderr;
    assert.doesNotMatch(before, /DATABASE_URL is not set/);
    assert.match(before, /embedded PostgreSQL/);
    // A fresh checkout's embedded database is not migrated until something migrates it.
    if (first.status !== 0) assert.match(before, /\[database-not-migrated\][\s\S]*npm run db:migrate/, before);

    const migrated = run("scripts/migrate.ts");
    assert.equal(migrated.status, 0, migrated.stdout + migrated.stderr);
    assert.match(migrated.stdout, /\d+ applied, \d+ already applied/);

    const second = run("scripts/doctor.ts");
    assert.equal(second.status, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /doctor: no problems found/);
  });
});
