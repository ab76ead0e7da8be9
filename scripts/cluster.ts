/**
 * `npm run cluster [-- --instances 3 --port 8080]`: the multi-instance demo. Builds once if
 * needed, starts N `next start` instances behind nginx (round-robin, no stickiness), and stops
 * everything on Ctrl-C. Uses SESSION_STORE, DATABASE_URL, REDIS_URL… from the environment;
 * without DATABASE_URL it starts the embedded PostgreSQL.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { startEmbeddedPostgres } from "../lib/embedded-postgres";
import { migrate } from "../lib/migrate";
import { ClusterRefused, startCluster } from "../testing/cluster";

const args = process.argv.slice(2);
const value = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const env: Record<string, string> = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));

if (!existsSync(".next/BUILD_ID")) {
  console.log("[cluster] building once");
  if (spawnSync("npm", ["run", "build"], { stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } }).status !== 0) process.exit(1);
}
let stopDatabase = async () => {};
if (!env.DATABASE_URL) {
  const embedded = await startEmbeddedPostgres(path.resolve(".holdfast"), Number(env.EMBEDDED_POSTGRES_PORT ?? 54329), (l) => console.log(`[cluster] ${l}`));
  stopDatabase = embedded.stop;
  env.DATABASE_URL = embedded.url;
  await migrate(embedded.url);
}
if (!env.SESSION_SECRET) {
  // Every instance must share one secret; this one lives only as long as the demo.
  env.SESSION_SECRET = randomBytes(36).toString("base64url");
  console.log("[cluster] SESSION_SECRET is unset: using a random one for this run");
}

try {
  const cluster = await startCluster({ env, instances: value("--instances", 3), port: value("--port", 8080) });
  console.log(`[cluster] ${cluster.url} → ${cluster.instances.map((i) => `${i.name} on :${i.port}`).join(", ")} (store: ${env.SESSION_STORE ?? "cookie"})`);
  console.log("[cluster] every response names its instance in X-Holdfast-Instance; Ctrl-C stops everything");
  const stop = async () => {
    await cluster.stop();
    await stopDatabase();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (error) {
  await stopDatabase();
  console.error(error instanceof ClusterRefused ? `[cluster] refused: ${error.message}` : error);
  process.exit(1);
}
