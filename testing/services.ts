import { closeDb, createDb, type Db } from "../lib/db";

/**
 * Where the test suites find their services. `npm test` (testing/run-all.ts) starts them and
 * sets these variables; a missing one is an error, never a skipped test.
 */
export function required(name: "DATABASE_URL" | "REDIS_URL" | "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN" | "REDIS_CLUSTER_NODES"): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through \`npm test\`, which starts the services they need.`);
  return value;
}

let db: Db | undefined;

/** One shared client for the test process, over the migrated test database. */
export function testDb(): Db {
  db ??= createDb(required("DATABASE_URL"));
  return db;
}

export async function closeTestDb(): Promise<void> {
  if (db) await closeDb(db);
  db = undefined;
}
