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
import { parseArgs } from "node:util";
import { startEmbeddedPostgres } from "../lib/embedded-postgres";
import { migrate } from "../lib/migrate";
import { ClusterRefused, InstanceExited, startCluster } from "../testing/cluster";

const problems: string[] = [];
const USAGE = "use --instances N (1 to 16) and --port N (1 to 65535), as `npm run cluster -- --instances 3 --port 8080`";
/** The options as node:util reads them: `--instances 3` and `--instances=3` alike; anything else is one sentence. */
function readOptions(): { instances?: string; port?: string } {
  try {
    return parseArgs({ args: process.argv.slice(2), options: { instances: { type: "string" }, port: { type: "string" } }, strict: true }).values;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const option = /'(--[a-z]+)/.exec(String((error as Error).message))?.[1];
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option) return { [option.slice(2)]: "" };
    const what = code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option ? `${option.slice(0, 40)} is not an option` : "that argument is not an option";
    problems.push(`${what}: ${USAGE}.`);
    return {};
  }
}
const given = readOptions();
/** A whole number option in digits, as the configuration reads numbers; a wrong one is one sentence with the fix. */
const whole = (name: "instances" | "port", fallback: number, min: number, max: number, what: string) => {
  const value = given[name];
  if (value === undefined) return fallback;
  const n = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (n >= min && n <= max) return n;
  problems.push(`--${name}${value === "" ? "" : ` ${value.slice(0, 40)}`} is not valid: use a whole number from ${min} to ${max} (${what}; ${fallback} is the default).`);
  return fallback;
};
// Said before anything is built or started. At most 16: each instance is a whole Next server.
const instances = whole("instances", 3, 1, 16, "how many instances to start behind the proxy");
const port = whole("port", 8080, 1, 65_535, "the port the proxy listens on");
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
  let stopping = false;
  const stop = async (code = 0) => {
    stopping = true;
    await cluster.stop();
    await stopDatabase();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  // An instance that stops later (a crash, a kill) is named at once: nginx sends its share to the
  // others, which is what the demo shows, and once none is left the demo stops.
  let running = cluster.instances.length;
  for (const instance of cluster.instances) {
    instance.process.once("exit", (code, signal) => {
      if (stopping) return;
      running -= 1;
      const log = path.join("artifacts", "logs", "cluster", `${instance.name}.log`);
      console.error(`[cluster] ${instance.name} stopped (${signal ? `ended by ${signal}` : `exit code ${code}`}); its log is ${log}. ${running ? `nginx sends its requests to the other ${running === 1 ? "instance" : `${running} instances`}.` : "No instance is left: stopping."}`);
      if (!running) void stop(1);
    });
  }
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
