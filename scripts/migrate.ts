/** `npm run db:migrate`: applies the shipped migrations to DATABASE_URL, or to the embedded database when it is unset. */
import { loadEnvFiles } from "../lib/env";
import { envFilesNote } from "../lib/env-files";
import { databaseProblem, databaseSentence, migrate } from "../lib/migrate";
import { zeroConfig } from "../lib/zero-config";

// DATABASE_URL may be in a .env file, as the app would read it.
const dev = process.env.NODE_ENV !== "production";
const note = envFilesNote(loadEnvFiles(dev), dev, "npm run db:migrate");
if (note) console.log(`[holdfast] ${note}`);
const { env, embedded } = await zeroConfig({ ...process.env, SESSION_SECRET: process.env.SESSION_SECRET || "unused-by-migrations" }, (line) => console.log(`[holdfast] ${line}`));
try {
  const { applied, alreadyApplied } = await migrate(env.DATABASE_URL!);
  for (const name of applied) console.log(`applied ${name}`);
  console.log(`${applied.length} applied, ${alreadyApplied.length} already applied`);
} catch (error) {
  // An unreachable or refusing database is one sentence with its fix, not a driver's stack trace.
  const problem = databaseProblem(error, env.DATABASE_URL!);
  if (!problem) throw error;
  console.error(`[holdfast] ${databaseSentence(problem)}`);
  await embedded?.stop();
  // Explicitly: the embedded database's exit hook would end the process with 0 otherwise.
  process.exit(1);
} finally {
  await embedded?.stop();
}
