import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "./embedded-postgres";
import { DEV_SECRET_PREFIX, type Env } from "./env";

/**
 * What a start with no configuration fills in, for `npm run dev`, `npm start` and `npm run
 * doctor` alike, so the doctor checks the very database and secret the app runs with: the
 * embedded Postgres when DATABASE_URL is unset, and outside production a generated development
 * secret when SESSION_SECRET is unset.
 */

export const DATA_ROOT = path.resolve(".holdfast");
export const EMBEDDED_POSTGRES_PORT = 54329;

async function devSecret(): Promise<string> {
  const file = path.join(DATA_ROOT, "dev-secret");
  if (existsSync(file)) return (await readFile(file, "utf8")).trim();
  const secret = DEV_SECRET_PREFIX + randomBytes(32).toString("base64url");
  await mkdir(DATA_ROOT, { recursive: true });
  await writeFile(file, secret + "\n", { mode: 0o600 });
  return secret;
}

export interface ZeroConfig {
  env: Env;
  /** Set when DATABASE_URL was unset and the embedded database serves instead. */
  embedded?: EmbeddedDatabase;
}

export async function zeroConfig(given: Env, log: (line: string) => void): Promise<ZeroConfig> {
  const env: Env = { ...given };
  let embedded: EmbeddedDatabase | undefined;
  if (!env.SESSION_SECRET && env.NODE_ENV !== "production") {
    env.SESSION_SECRET = await devSecret();
    log("using the generated development secret in .holdfast/dev-secret (never use it in production)");
  }
  if (!env.DATABASE_URL) {
    embedded = await startEmbeddedPostgres(DATA_ROOT, Number(env.EMBEDDED_POSTGRES_PORT ?? EMBEDDED_POSTGRES_PORT), log);
    env.DATABASE_URL = embedded.url;
    log(`using the embedded PostgreSQL (data in .holdfast/postgres, port ${embedded.port})`);
  }
  return { env, embedded };
}
