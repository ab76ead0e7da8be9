import { readdirSync } from "node:fs";
import path from "node:path";

/**
 * What "migrated" means at run time: every migration this build ships
 * (prisma/migrations/<timestamp>_<name>/) is recorded as finished in `_prisma_migrations`.
 */

export const MIGRATIONS_DIR = path.join(process.cwd(), "prisma", "migrations");

let shipped: string[] | undefined;

/** The migrations this build ships, in order; read once. */
export function shippedMigrations(dir = MIGRATIONS_DIR): string[] {
  if (dir !== MIGRATIONS_DIR) return list(dir);
  shipped ??= list(dir);
  return shipped;
}

function list(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^\d{14}_/.test(e.name))
    .map((e) => e.name)
    .sort();
}

/** The query that lists applied migrations; the table itself is absent from a database never migrated. */
export const APPLIED_MIGRATIONS_SQL = `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
export const MIGRATIONS_TABLE_EXISTS_SQL = `SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS present`;

/** Shipped migrations not yet applied. */
export function pendingMigrations(applied: Iterable<string>, dir = MIGRATIONS_DIR): string[] {
  const done = new Set(applied);
  return shippedMigrations(dir).filter((name) => !done.has(name));
}

/** The sentence an operator reads, with the fix. */
/** `command`: how to migrate with the same settings (production's .env files for `npm start`). */
export function notMigratedSentence(pending: string[], command = "npm run db:migrate"): string {
  return `The database lacks ${pending.length} migration${pending.length === 1 ? "" : "s"} this build ships (${pending.join(", ")}): run \`${command}\` against DATABASE_URL, then start again.`;
}

/** Whether a database error means a table or column this build expects is missing. */
export function isNotMigrated(error: unknown): boolean {
  const e = error as { code?: unknown; meta?: { code?: unknown; driverAdapterError?: { cause?: { kind?: unknown; originalCode?: unknown } } } } | undefined;
  const cause = e?.meta?.driverAdapterError?.cause;
  return (
    e?.code === "P2021" ||
    e?.code === "P2022" ||
    e?.code === "42P01" ||
    e?.code === "42703" ||
    cause?.kind === "TableDoesNotExist" ||
    cause?.kind === "ColumnNotFound" ||
    cause?.originalCode === "42P01" ||
    cause?.originalCode === "42703" ||
    e?.meta?.code === "42P01"
  );
}
