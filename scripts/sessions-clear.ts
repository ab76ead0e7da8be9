/** `npm run sessions:clear`: deletes expired sessions and captchas now, instead of waiting for the background sweep. */
import { createPostgresStore } from "@holdfast/session/stores/postgres";
import { postgresLedger } from "../lib/captcha/ledgers/postgres";
import { closeDb, createDb, sql } from "../lib/db";
import { ConfigError, parseConfig } from "../lib/env";

try {
  const { databaseUrl } = parseConfig({ ...process.env, SESSION_SECRET: process.env.SESSION_SECRET || "x".repeat(32) });
  const db = createDb(databaseUrl);
  const removed = await createPostgresStore(sql(db)).sweepExpired();
  const captchas = await postgresLedger(db).sweepExpired();
  console.log(`removed ${removed} expired sessions and ${captchas} expired captchas`);
  await closeDb(db);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
