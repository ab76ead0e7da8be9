/**
 * `npm run cluster [-- --instances 3 --port 8080]`: the multi-instance demo. Builds once if
 * needed, starts N instances of the build (dist/server.mjs) behind nginx (round-robin, no
 * stickiness), and stops everything on Ctrl-C. Uses SESSION_STORE, DATABASE_URL, REDIS_URL… from
 * the environment; without DATABASE_URL it starts the embedded PostgreSQL. A setting the
 * instances refuse stops it at once with their own sentences, as `npm start` prints them.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { startEmbeddedPostgres } from "../lib/embedded-postgres";
import { migrate } from "../lib/migrate";
import { ClusterRefused, InstanceExited, startCluster } from "../testing/cluster";

const args = process.argv.slice(2);
const problems: string[] = [];
/** A whole number option in digits, as the configuration reads numbers; a wrong one is one sentence with the fix. */
const whole = (name: string, fallback: number, min: number, max: number, what: string) => {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const given = args[i + 1];
  const n = given !== undefined && /^\d{1,10}$/.test(given) ? Number(given) : NaN;
  if (n >= min && n <= max) return n;
  problems.push(`${name}${given === undefined ? "" : ` ${given.slice(0, 40)}`} is not valid: use a whole number from ${min} to ${max} (${what}; ${fallback} is the default).`);
  return fallback;
};
// Said before anything is built or started. At most 16: each instance is a whole Next server.
const instances = whole("--instances", 3, 1, 16, "how many instances to start behind the proxy");
const port = whole("--port", 8080, 1, 65_535, "the port the proxy listens on");
if (problems.length) {
  for (const problem of problems) console.error(`[cluster] ${problem}`);
  process.exit(1);
}
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
  const cluster = await startCluster({ env, instances, port });
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
  if (error instanceof InstanceExited) {
    // Its own sentences (a wrong setting names the variable and the fix), not the harness's stack.
    const log = path.relative(process.cwd(), error.logFile);
    if (error.sentences.length) {
      console.error(`[cluster] ${error.instance} stopped before it listened (${error.how}); its log, ${log}, says:`);
      for (const sentence of error.sentences) console.error(sentence);
    } else {
      console.error(`[cluster] ${error.instance} stopped before it listened (${error.how}) and said nothing of its own: read ${log}.`);
    }
  } else {
    console.error(error instanceof ClusterRefused ? `[cluster] refused: ${error.message}` : error);
  }
  process.exit(1);
}
