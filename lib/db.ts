import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../prisma/generated/client";
import { StoreUnavailableError } from "./session/store";

export type Db = PrismaClient;

/** A client with bounded waits, so an unreachable database is a quick 503 rather than a hang. */
export function createDb(url: string): Db {
  const adapter = new PrismaPg({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 10_000,
  });
  return new PrismaClient({ adapter });
}

const CONNECTION_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
const CONNECTION_TEXT = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|timeout exceeded when trying to connect|Connection terminated|terminating connection|the database system is (starting|shutting) up|Can't reach database server/i;

function isConnectionError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
    const kind = (e as { kind?: unknown }).kind;
    if (kind === "DatabaseNotReachable" || kind === "ConnectionClosed" || kind === "SocketTimeout") return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && CONNECTION_TEXT.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Runs a database call; an unreachable database becomes StoreUnavailableError("database"). */
export async function dbCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isConnectionError(error)) throw new StoreUnavailableError("database", { cause: error });
    throw error;
  }
}

/** The column names of a unique-constraint violation, or null when the error is something else. */
export function uniqueViolation(error: unknown): string | null {
  const e = error as { code?: string; meta?: Record<string, unknown>; message?: string };
  if (e?.code !== "P2002") return null;
  return JSON.stringify(e.meta ?? {}) + " " + (e.message ?? "");
}

const shared = globalThis as unknown as { holdfastDb?: { url: string; db: Db } };

/** One client per process (and per URL), kept across hot reloads in development. */
export function getDb(url: string): Db {
  if (shared.holdfastDb?.url !== url) shared.holdfastDb = { url, db: createDb(url) };
  return shared.holdfastDb.db;
}
