/**
 * `npm run dev` and `npm start`: fills in what a zero-configuration start needs (the embedded
 * database, migrations, a development secret), then runs Next. With DATABASE_URL and
 * SESSION_SECRET set it adds nothing.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../lib/embedded-postgres";
import { ConfigError, DEV_SECRET_PREFIX, parseConfig } from "../lib/env";
import { migrate } from "../lib/migrate";

const mode = process.argv[2] === "start" ? "start" : "dev";
const DATA_ROOT = path.resolve(".holdfast");
const log = (line: string) => console.log(`[holdfast] ${line}`);
const env: Record<string, string | undefined> = {
  NEXT_TELEMETRY_DISABLED: "1",
  ...process.env,
  NODE_ENV: mode === "start" ? "production" : "development",
};

async function devSecret(): Promise<string> {
  const file = path.join(DATA_ROOT, "dev-secret");
  if (existsSync(file)) return (await readFile(file, "utf8")).trim();
  const secret = DEV_SECRET_PREFIX + randomBytes(32).toString("base64url");
  await mkdir(DATA_ROOT, { recursive: true });
  await writeFile(file, secret + "\n", { mode: 0o600 });
  return secret;
}

let embedded: EmbeddedDatabase | undefined;

async function main() {
  if (!env.SESSION_SECRET && mode === "dev") {
    env.SESSION_SECRET = await devSecret();
    log("using the generated development secret in .holdfast/dev-secret (never use it in production)");
  }
  if (!env.DATABASE_URL) {
    embedded = await startEmbeddedPostgres(DATA_ROOT, Number(env.EMBEDDED_POSTGRES_PORT ?? 54329), log);
    env.DATABASE_URL = embedded.url;
    log(`using the embedded PostgreSQL (data in .holdfast/postgres)`);
  }
  // Fail here, with the configuration's own sentence, rather than at the first request.
  const config = parseConfig(env);
  if (embedded) {
    const { applied } = await migrate(config.databaseUrl);
    if (applied.length) log(`applied migrations: ${applied.join(", ")}`);
  }
  // Production runs server.ts (Next's handler, plus the socket's address for rate limits); development runs `next dev`.
  const args =
    mode === "start"
      ? ["--import", "tsx", "server.ts"]
      : [path.resolve("node_modules/next/dist/bin/next"), "dev", ...(env.PORT ? ["-p", env.PORT] : []), ...(env.HOSTNAME ? ["-H", env.HOSTNAME] : [])];
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
  await embedded?.stop().catch(() => {});
  console.error(error instanceof ConfigError ? `[holdfast] ${error.message}` : error);
  process.exit(1);
});
