/**
 * `npm run dev` and `npm start`: fills in what a zero-configuration start needs (the embedded
 * database, migrated; a development secret), then runs Next. With DATABASE_URL and
 * SESSION_SECRET set it adds nothing, and it refuses to start on a database that lacks
 * migrations this build ships: migrating a shared database is the operator's step
 * (`npm run db:migrate`), taken once, not by every instance at boot.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { ConfigError, loadEnvFiles, parseConfig } from "../lib/env";
import { envFilesNote } from "../lib/env-files";
import { databaseProblem, databaseSentence, migrate, unappliedMigrations } from "../lib/migrate";
import { notMigratedSentence } from "../lib/migrations";
import { zeroConfig, type ZeroConfig } from "../lib/zero-config";

const mode = process.argv[2] === "start" ? "start" : "dev";
const log = (line: string) => console.log(`[holdfast] ${line}`);

let started: ZeroConfig | undefined;

class StartRefused extends Error {}

async function main() {
  // npm start runs production and npm run dev development, whatever NODE_ENV says: a different
  // one (NODE_ENV=staging npm start) is refused rather than silently replaced.
  const wanted = mode === "start" ? "production" : "development";
  const given = process.env.NODE_ENV;
  if (given && given !== wanted) {
    throw new StartRefused(`NODE_ENV=${given}, but \`npm ${mode === "start" ? "start" : "run dev"}\` runs ${wanted}: unset NODE_ENV, or set it to ${wanted}.`);
  }
  const files = loadEnvFiles(mode === "dev");
  if (mode === "start") {
    const note = envFilesNote(files, false, "npm start");
    if (note) log(note);
  }
  started = await zeroConfig({ NEXT_TELEMETRY_DISABLED: "1", ...process.env, NODE_ENV: mode === "start" ? "production" : "development" }, log);
  const { env, embedded } = started;
  // Fail here, with the configuration's own sentences, rather than at the first request.
  const config = parseConfig(env);
  // A wrong setting is said first (fixing it needs no build); then a missing build, before the database is asked.
  if (mode === "start" && !(existsSync("dist/server.mjs") && existsSync(".next/BUILD_ID"))) {
    throw new StartRefused(`No complete build found (${existsSync("dist/server.mjs") ? ".next" : "dist/server.mjs"} is missing): run \`npm run build\` first.`);
  }
  try {
    if (embedded) {
      const { applied } = await migrate(config.databaseUrl);
      if (applied.length) log(`applied migrations: ${applied.join(", ")}`);
    } else {
      const pending = await unappliedMigrations(config.databaseUrl);
      if (pending.length) throw new StartRefused(notMigratedSentence(pending, mode === "start" ? "NODE_ENV=production npm run db:migrate" : undefined));
    }
  } catch (error) {
    // An unreachable or refusing database is one sentence with its fix, not a driver's stack trace.
    const problem = databaseProblem(error, config.databaseUrl);
    throw problem ? new StartRefused(databaseSentence(problem)) : error;
  }
  // Both run server.ts (Next's handler, plus the socket's address for rate limits and the gate):
  // production its compiled build, development its source with Next in development mode.
  const args = mode === "start" ? [path.resolve("dist/server.mjs")] : ["--import", "tsx", path.resolve("server.ts"), "--dev"];
  const next = spawn(process.execPath, args, { stdio: "inherit", env: env as NodeJS.ProcessEnv });
  const stop = (signal: NodeJS.Signals) => next.kill(signal);
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  next.on("exit", async (code) => {
    await embedded?.stop().catch(() => {});
    process.exit(code ?? 0);
  });
}

main().catch(async (error) => {
  await started?.embedded?.stop().catch(() => {});
  if (error instanceof ConfigError) for (const problem of error.problems) console.error(`[holdfast] ${problem}`);
  else console.error(error instanceof StartRefused ? `[holdfast] ${error.message}` : error);
  process.exit(1);
});
