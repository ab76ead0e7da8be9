import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import { startUpstashRestServer } from "./upstash-rest/server";
import { startEmbeddedPostgres } from "../lib/embedded-postgres";
import { migrate } from "../lib/migrate";
import { startRedisCluster } from "./redis-cluster";
import { tracked } from "./children";

/**
 * The services a test run needs, started once: a fresh migrated Postgres database (on
 * TEST_DATABASE_URL's server, or an embedded one), a private redis-server on a spare port, and
 * the Upstash REST proxy over it, and a Redis Cluster of six nodes (three primaries, three replicas). Everything started here is stopped by `stop()`.
 */
export interface Stack {
  env: { DATABASE_URL: string; REDIS_URL: string; UPSTASH_REDIS_REST_URL: string; UPSTASH_REDIS_REST_TOKEN: string; REDIS_CLUSTER_NODES: string };
  stop(): Promise<void>;
}

/** Ports this process has handed out: a server started late must not find its port given twice. */
const handedOut = new Set<number>();

/**
 * A port of 127.0.0.1 that nothing listens on now and that this process has not handed out
 * before. The kernel may give a port back as soon as it is closed, so two calls made before the
 * first port's server binds could otherwise name the same port.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/**
 * Resolves once something listens on the port of 127.0.0.1. `signal` ends the wait early (its
 * reason is thrown), so a caller that learns the server will never listen (it exited) does not
 * keep polling until the timeout.
 */
export async function waitForPort(port: number, timeoutMs = 30_000, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A redis-server of the test run's own, on a spare port, keeping nothing on disk. */
export async function startRedisServer(port?: number): Promise<{ url: string; port: number; process: ChildProcess; stop(): Promise<void> }> {
  const p = port ?? (await freePort());
  const child = tracked(
    spawn("redis-server", ["--port", String(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    }),
  );
  await waitForPort(p, 10_000);
  return {
    url: `redis://127.0.0.1:${p}`,
    port: p,
    process: child,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await once(child, "exit");
      }
    },
  };
}

async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function startStack(log: (line: string) => void): Promise<Stack> {
  const stops: (() => Promise<void>)[] = [];
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const embedded = await startEmbeddedPostgres(path.resolve(".holdfast/test"), Number(process.env.TEST_EMBEDDED_POSTGRES_PORT ?? 54330), log);
    stops.push(embedded.stop);
    adminUrl = embedded.url;
  }
  // One database per run, so two runs on one machine never drop each other's.
  const databaseName = `holdfast_test_${process.pid}`;
  const databaseUrl = await freshDatabase(adminUrl, databaseName);
  stops.push(async () => {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`).finally(() => admin.end());
  });
  await migrate(databaseUrl);
  const redis = await startRedisServer();
  stops.push(redis.stop);
  const rest = await startUpstashRestServer({ redisUrl: redis.url, token: "holdfast-test-token" });
  stops.push(rest.close);
  const cluster = await startRedisCluster();
  stops.push(cluster.stop);
  log(`test services: postgres ${new URL(databaseUrl).host}, redis ${redis.url}, upstash rest ${rest.url}, redis cluster ${cluster.nodes.join(",")}`);
  return {
    env: { DATABASE_URL: databaseUrl, REDIS_URL: redis.url, UPSTASH_REDIS_REST_URL: rest.url, UPSTASH_REDIS_REST_TOKEN: rest.token, REDIS_CLUSTER_NODES: cluster.nodes.join(",") },
    async stop() {
      for (const stop of stops.reverse()) await stop().catch(() => {});
    },
  };
}
