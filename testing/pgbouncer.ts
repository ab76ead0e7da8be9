import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, waitForPort } from "./stack";
import { tracked } from "./children";

/**
 * Debian's pgbouncer in front of a Postgres database, on a spare port of 127.0.0.1, with its own
 * ini and userlist in a temporary folder: the pooled shape of a deployment whose instances (or
 * serverless functions) would otherwise each open their own connections. Clients log in to
 * PgBouncer without a password (auth_type trust, listening on 127.0.0.1 only), with the database
 * URL's user and database name. Everything started here is stopped, and the folder removed, by
 * `stop()`.
 *
 * PgBouncer refuses to run as root ("PgBouncer should not run as root"). Started by root (a CI
 * container, this machine), it is given `-u <user>`: it reads its files, then drops to that user.
 * The folder and files are world-readable for that reason; they hold no secret a test database
 * does not already expose.
 */

export interface PgBouncerOptions {
  /** The real database: postgres://user[:password]@host:port/database. */
  databaseUrl: string;
  /** The most server connections PgBouncer opens to that database, all clients together. */
  maxServerConnections?: number;
  poolMode?: "transaction" | "session" | "statement";
  /**
   * Startup parameters PgBouncer accepts and drops instead of refusing the client. node-postgres
   * sends `statement_timeout` (and others) as startup parameters when its options set them, and
   * PgBouncer 1.18 refuses any it does not track: "unsupported startup parameter".
   */
  ignoreStartupParameters?: string[];
  /** SQL run once on every new server connection (PgBouncer's connect_query), e.g. a SET. */
  connectQuery?: string;
  /** Most client connections; waiting clients queue for a server connection. */
  maxClientConnections?: number;
  /** The Unix user PgBouncer drops to when started as root; `nobody` by default. */
  runAsUser?: string;
  /** pgbouncer's `-v` flags, for debugging; its log goes to a file in the temp folder. */
  verbose?: boolean;
}

export interface PgBouncer {
  /** Connection URL through PgBouncer: same user and database name as databaseUrl. */
  url: string;
  /** PgBouncer's admin console (SHOW POOLS, SHOW SERVERS…): the `pgbouncer` virtual database. */
  adminUrl: string;
  port: number;
  process: ChildProcess;
  /** The temporary folder of the ini, userlist and log; removed by stop(). */
  dir: string;
  /** The last lines PgBouncer logged. */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/** A value in pgbouncer.ini's connection strings: quoted, with quotes and backslashes escaped. */
function connValue(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** A name or password in the userlist: double-quoted, with double quotes doubled. */
function userlistValue(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const target = new URL(options.databaseUrl);
  const user = decodeURIComponent(target.username || "postgres");
  const password = decodeURIComponent(target.password);
  const database = decodeURIComponent(target.pathname.replace(/^\//, "")) || user;
  const maxServer = options.maxServerConnections ?? 10;
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "holdfast-pgbouncer-"));
  chmodSync(dir, 0o755);
  const ini = path.join(dir, "pgbouncer.ini");
  const userlist = path.join(dir, "userlist.txt");
  const logFile = path.join(dir, "pgbouncer.log");

  const server = [
    `host=${connValue(target.hostname || "127.0.0.1")}`,
    `port=${target.port || "5432"}`,
    `dbname=${connValue(database)}`,
    `user=${connValue(user)}`,
    ...(password ? [`password=${connValue(password)}`] : []),
    ...(options.connectQuery ? [`connect_query=${connValue(options.connectQuery)}`] : []),
  ].join(" ");

  writeFileSync(
    ini,
    `[databases]
${database} = ${server}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
; No Unix socket: two runs on one machine would fight over /tmp/.s.PGSQL.6432.
unix_socket_dir =
auth_type = trust
auth_file = ${userlist}
admin_users = ${user}
stats_users = ${user}
pool_mode = ${options.poolMode ?? "transaction"}
; Both caps: the pool of this (database, user) pair and the database as a whole.
default_pool_size = ${maxServer}
max_db_connections = ${maxServer}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = ${options.maxClientConnections ?? 1000}
ignore_startup_parameters = ${(options.ignoreStartupParameters ?? []).join(",")}
; Clients wait for a server connection rather than failing after the default 120 s.
query_wait_timeout = 60
server_login_retry = 1
logfile = ${logFile}
pidfile =
`,
  );
  writeFileSync(userlist, `${userlistValue(user)} ${userlistValue(password)}\n`);
  chmodSync(ini, 0o644);
  chmodSync(userlist, 0o644);
  // The log is created here, so that the user pgbouncer drops to can append to it.
  closeSync(openSync(logFile, "a"));
  chmodSync(logFile, 0o666);

  const args = [...(options.verbose ? ["-v"] : [])];
  if (process.getuid?.() === 0) args.push("-u", options.runAsUser ?? "nobody");
  const child = tracked(spawn("pgbouncer", [...args, ini], { stdio: ["ignore", "ignore", "pipe"] }));
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });

  const logTail = (lines = 20) => {
    let text = "";
    try {
      text = readFileSync(logFile, "utf8");
    } catch {
      // nothing logged yet
    }
    return `${text}${stderr}`.trim().split("\n").slice(-lines).join("\n");
  };

  // A test process that exits without stop() must leave neither PgBouncer nor its files behind.
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", killOnExit);

  const stop = async () => {
    process.removeListener("exit", killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      // PgBouncer 1.18: SIGINT is a "safe shutdown" that waits for clients; SIGTERM closes at once.
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const exited = once(child, "exit").then(() => {
      throw new Error(`pgbouncer exited at start (code ${child.exitCode}): ${logTail()}`);
    });
    // Observed here so that the exit stop() causes later is no unhandled rejection.
    exited.catch(() => {});
    await Promise.race([waitForPort(port, 10_000), exited]);
  } catch (error) {
    await stop();
    throw error;
  }

  const url = new URL(options.databaseUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  url.password = "";
  const adminUrl = new URL(url);
  adminUrl.pathname = "/pgbouncer";
  return { url: url.toString(), adminUrl: adminUrl.toString(), port, process: child, dir, logTail, stop };
}
