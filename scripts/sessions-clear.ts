/**
 * `npm run sessions:clear`: deletes expired sessions and captchas now, instead of waiting for the
 * background sweep. Reads DATABASE_URL as `npm run db:migrate` does: from the environment or the
 * .env files, or the embedded database when it is unset.
 */
import { createPostgresStore } from "@holdfast/session/stores/postgres";
import { postgresLedger } from "../lib/captcha/ledgers/postgres";
import { closeDb, createDb, sql, type Db } from "../lib/db";
import { ConfigError, loadEnvFiles, parseConfig } from "../lib/env";
import { envFilesNote } from "../lib/env-files";
import { databaseProblem, databaseSentence } from "../lib/migrate";
import { zeroConfig } from "../lib/zero-config";

const dev = process.env.NODE_ENV !== "production";
const note = envFilesNote(loadEnvFiles(dev), dev, "npm run sessions:clear");
if (note) console.log(`[holdfast] ${note}`);
const { env, embedded } = await zeroConfig({ ...process.env, SESSION_SECRET: process.env.SESSION_SECRET || "unused-by-sessions-clear-0123456789" }, (line) => console.log(`[holdfast] ${line}`));
let db: Db | undefined;
try {
  const { databaseUrl } = parseConfig(env);
  db = createDb(databaseUrl);
  const removed = await createPostgresStore(sql(db)).sweepExpired();
  const captchas = await postgresLedger(db).sweepExpired();
  console.log(`removed ${removed} expired sessions and ${captchas} expired captchas`);
  await closeDb(db);
} catch (error) {
  // A wrong setting, or an unreachable or refusing database, is one sentence with its fix, not a stack trace.
  const problem = error instanceof ConfigError ? null : databaseProblem(error, env.DATABASE_URL!);
  console.error(error instanceof ConfigError ? error.problems.map((p) => `[holdfast] ${p}`).join("\n") : problem ? `[holdfast] ${databaseSentence(problem)}` : error);
  if (db) await closeDb(db).catch(() => {});
  await embedded?.stop();
  // Explicitly: the embedded database's exit hook would end the process with 0 otherwise.
  process.exit(1);
}
await embedded?.stop();
