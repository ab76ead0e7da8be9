/**
 * The whole request path of an earlier commit against this working tree's, side by side in one run:
 *
 *   tsx bench/flows-ab.ts <commit> [--next] [--store cookie] [--scenario flow|captcha|me] [--rounds 5] [--seconds 8]
 *
 * Without `--next`, both run bench/node-server.ts (the app's lib code on bare node:http, no build
 * needed), one process each, on the same test services (one database, one redis). The earlier
 * commit is `git archive <commit>` unpacked into a temporary folder with its own
 * `@holdfast/session` built from its own source and every other package linked from this
 * checkout's node_modules, so the two differ in our code only (the generated Prisma client is
 * this checkout's, so the schema must not have changed in between).
 *
 * With `--next`, each side is the app as production builds and runs it (bench/snapshot.ts: the
 * commit's tree, and the working tree, each copied and built with its own Prisma client, then
 * dist/server.mjs, one instance, no proxy): what a person's browser meets. Two builds, a few
 * minutes.
 *
 * Rounds alternate (before, after, after, before, …), each a closed loop of 16 virtual users
 * from the load generator in its own process; reported are the medians of iterations per second
 * and of the server's CPU (all threads) per iteration. Writes
 * bench/results/flows-ab-<date>-<commit>-<store>-<scenario>[-next].md.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startStack, type Stack } from "../testing/stack";
import { startLoadWorker, type LoadSpec } from "./load";
import { cliOptions } from "./args";
import { cpuMs, startProcess, storeEnv, type Running } from "./servers";
import { buildApp, copyApp } from "./snapshot";
import { median, ms } from "./stats";

const args = process.argv.slice(2);
const { option, positive, store: storeOption } = cliOptions(args);
const VALUED = new Set(["--store", "--scenario", "--rounds", "--seconds"]);
const commit = args.find((a, i) => !a.startsWith("--") && !VALUED.has(args[i - 1] ?? ""));
if (!commit) throw new Error("usage: tsx bench/flows-ab.ts <commit> [--next] [--store cookie] [--scenario flow|captcha|me] [--rounds 5] [--seconds 8]");
const next = args.includes("--next");
const store = storeOption();
const scenarioName = option("--scenario") ?? "flow";
const scenarios: Record<string, LoadSpec["scenario"]> = { flow: { kind: "flow" }, captcha: { kind: "get", path: "/api/captcha" }, me: { kind: "me" } };
const scenario = scenarios[scenarioName];
if (!scenario) throw new Error(`--scenario takes one of ${Object.keys(scenarios).join(", ")}`);
const ROUNDS = positive("--rounds", 5);
const SECONDS = positive("--seconds", 8);

const repo = path.resolve(import.meta.dirname, "..");
const git = (...argv: string[]) => execFileSync("git", argv, { cwd: repo, encoding: "utf8" }).trim();
const rev = git("rev-parse", "--short", commit);
const head = git("rev-parse", "--short", "HEAD");
// What each side runs: our lib code on node:http, or the whole app as built.
const dirty = (next ? git("status", "--porcelain", "--", ".", ":!bench") : git("status", "--porcelain", "--", "lib", "packages/session/src", "bench/node-server.ts")) !== "";
const log = (line: string) => console.log(`[flows-ab] ${line}`);

/** The earlier commit, with its own session package and everyone else's packages from here. */
function checkout(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "holdfast-flows-ab-"));
  execFileSync("tar", ["-x", "-C", dir], { input: execFileSync("git", ["archive", "--format=tar", rev], { cwd: repo, maxBuffer: 256 << 20 }) });
  const modules = path.join(repo, "node_modules");
  mkdirSync(path.join(dir, "node_modules/@holdfast"), { recursive: true });
  for (const name of readdirSync(modules)) {
    if (name !== "@holdfast") symlinkSync(path.join(modules, name), path.join(dir, "node_modules", name));
  }
  symlinkSync(path.join(dir, "packages/session"), path.join(dir, "node_modules/@holdfast/session"));
  // The generated Prisma client is not in git; this checkout's serves as long as the schema is the same.
  if (git("diff", "--name-only", rev, "--", "prisma/schema.prisma") !== "") throw new Error(`flows-ab: prisma/schema.prisma changed since ${rev}; the generated client would not match`);
  symlinkSync(path.join(repo, "prisma/generated"), path.join(dir, "prisma/generated"));
  execFileSync(process.execPath, [path.join(modules, "typescript/bin/tsc"), "-p", "packages/session/tsconfig.build.json"], { cwd: dir, stdio: "inherit" });
  return dir;
}

/** Both sides as production builds them, in `root`: the commit's tree and the working tree. Build logs go to `logDir`, which stays. */
function builds(root: string, logDir: string): { before: string; after: string } {
  const before = path.join(root, "before"), after = path.join(root, "after");
  log(`building ${rev} and the working tree with next build (a few minutes; logs in ${logDir})`);
  copyApp(repo, before, { commit: rev });
  buildApp(before, path.join(logDir, "build-before"));
  copyApp(repo, after, "worktree");
  buildApp(after, path.join(logDir, "build-after"));
  return { before, after };
}

const logDir = path.join(tmpdir(), `holdfast-flows-ab-logs-${process.pid}`);
const copies = next ? mkdtempSync(path.join(tmpdir(), "holdfast-flows-ab-next-")) : checkout();
let stack: Stack | undefined;
const started: Running[] = [];
const worker = startLoadWorker();
try {
  const built = next ? builds(copies, logDir) : undefined;
  const script = next ? "dist/server.mjs" : "bench/node-server.ts";
  stack = await startStack(log);
  const env = storeEnv(stack, store);
  const before = await startProcess(script, env, path.join(logDir, "before"), undefined, built?.before ?? copies);
  started.push(before);
  const after = await startProcess(script, env, path.join(logDir, "after"), undefined, built?.after);
  started.push(after);
  const servers = { before, after };
  const per = { before: { rate: [] as number[], cpu: [] as number[] }, after: { rate: [] as number[], cpu: [] as number[] } };
  const run = async (side: "before" | "after", measured: boolean) => {
    const server = servers[side];
    const cpu0 = cpuMs(server.pids);
    const result = await worker.run({
      base: server.url,
      scenario,
      concurrency: 16,
      durationMs: measured ? SECONDS * 1000 : 2000,
      warmupMs: measured ? 1500 : 0,
      sessionScope: `flows-ab-${side}`,
    });
    if (!measured) return;
    const rate = result.iterations / (result.windowMs / 1000);
    const cpu = (cpuMs(server.pids) - cpu0) / result.completed;
    per[side].rate.push(rate);
    per[side].cpu.push(cpu);
    log(`${side}: ${rate.toFixed(0)} ${scenarioName}/s, ${ms(cpu)} ms server CPU per ${scenarioName}`);
  };
  await run("before", false);
  await run("after", false);
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of round % 2 ? (["after", "before"] as const) : (["before", "after"] as const)) await run(side, true);
  }

  const rate = { before: median(per.before.rate), after: median(per.after.rate) };
  const cpu = { before: median(per.before.cpu), after: median(per.after.cpu) };
  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    `# ${scenarioName === "flow" ? "Sign-up flows" : `GET /api/${scenarioName}`}, ${store} store: ${rev} against ${head}${dirty ? " + uncommitted changes" : ""} (${date})`,
    "",
    `\`tsx bench/flows-ab.ts ${rev}${next ? " --next" : ""} --store ${store} --scenario ${scenarioName} --rounds ${ROUNDS} --seconds ${SECONDS}\`: ${next ? "the built app (dist/server.mjs, one instance)" : "bench/node-server.ts"} of each, 16 virtual users, ${ROUNDS} alternating rounds of ${SECONDS} s (medians).`,
    "",
    `| | ${rev} (before) | ${head}${dirty ? "+" : ""} (after) | after ÷ before |`,
    "|---|---:|---:|---:|",
    `| ${scenarioName}/s | ${rate.before.toFixed(0)} | ${rate.after.toFixed(0)} | ${(rate.after / rate.before).toFixed(2)}× |`,
    `| server CPU ms per ${scenarioName} | ${ms(cpu.before)} | ${ms(cpu.after)} | ${(cpu.after / cpu.before).toFixed(2)}× |`,
    "",
    `Per round, ${scenarioName}/s: before ${per.before.rate.map((r) => r.toFixed(0)).join(", ")}; after ${per.after.rate.map((r) => r.toFixed(0)).join(", ")}.`,
    "",
  ];
  const out = path.join(repo, "bench/results");
  mkdirSync(out, { recursive: true });
  const file = path.join(out, `flows-ab-${date}-${rev}-${store}-${scenarioName}${next ? "-next" : ""}.md`);
  writeFileSync(file, lines.join("\n"));
  console.log(lines.join("\n"));
  log(`wrote ${path.relative(repo, file)}`);
} finally {
  worker.close();
  for (const server of started) await server.stop();
  await stack?.stop();
  rmSync(copies, { recursive: true, force: true });
}
