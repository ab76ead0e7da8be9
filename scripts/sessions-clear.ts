/** `npm run sessions:clear`: deletes expired sessions and captchas now, instead of waiting for the background sweep. */
import { ConfigError, parseConfig } from "../lib/env";
import { createDb } from "../lib/db";
import { createDatabaseStore } from "../lib/session/stores/database";

try {
  const { databaseUrl } = parseConfig({ ...process.env, SESSION_SECRET: process.env.SESSION_SECRET || "x".repeat(32) });
  const db = createDb(databaseUrl);
  const removed = await createDatabaseStore(db).sweepExpired();
  console.log(`removed ${removed} expired sessions`);
  await db.$disconnect();
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
