/**
 * `npm run bench`: stores, shapes and overheads compared in one run (see bench/suite.ts for what
 * is measured, bench/results/ for what came out).
 *
 *   npm run bench [-- --trial] [--source head|worktree] [--with lib/a.ts,lib/b.ts] [--rebuild] [--out dir] [--concurrency 16]
 *                 [--stores cookie,database,redis-tcp,redis-rest] [--skip flows,profile,scale]
 *                 [--profile-store cookie] [--profile-scenario flow|captcha|me]
 *   npm run bench -- --attacker [--train 20000] [--test 1000] [--minutes 40]   (only the learning
 *                 attacker, bench/attacker/run.ts, on the working tree; no app copy, no build)
 *
 * It measures a private copy of the app, never the repository's own `.next`: other people build
 * and test in this checkout, and a rebuild in the middle of a run would swap the code under the
 * servers. The copy is `git archive HEAD` (default; `--source worktree` takes the working tree,
 * uncommitted changes included) plus the bench's own files, with node_modules hard-linked and
 * its own `next build`, which is kept until the source changes. `--with` lays the named files
 * of the working tree over HEAD (uncommitted edits of those files only, not anyone else's); they
 * are part of the build's key. `--peer <dir>` is the Django peer (default ../shared/peers/django-signup,
 * bench/peer.ts). Type errors do not stop that
 * build: `npm run typecheck` is their place, and a benchmark measures what runs.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildApp, copyApp, workingTreeFiles } from "./snapshot";

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const source = option("--source") ?? "head";
if (source !== "head" && source !== "worktree") throw new Error("bench: --source takes head or worktree");

const repo = process.cwd();
/** Working-tree files laid over HEAD (e.g. a change not committed yet); never bench/, which always comes from the working tree. */
const withFiles = (option("--with") ?? "").split(",").map((f) => f.trim()).filter(Boolean);
for (const f of withFiles) {
  if (path.isAbsolute(f) || f.startsWith("..") || !existsSync(path.join(repo, f))) throw new Error(`bench: --with takes paths of files in the repository; no ${f}`);
}
if (withFiles.length && source === "worktree") throw new Error("bench: --with is for --source head; the working tree already has every file");
const peer = path.resolve(repo, option("--peer") ?? "../shared/peers/django-signup");
const root = path.join(tmpdir(), "holdfast-bench");
const app = path.join(root, "app");
const log = (line: string) => console.log(`[bench] ${line}`);
const git = (...argv: string[]) => execFileSync("git", argv, { cwd: repo, encoding: "utf8" });

if (args.includes("--attacker")) {
  const attacker = spawnSync(process.execPath, ["--import", "tsx", "bench/attacker/run.ts", ...args.filter((a) => a !== "--attacker")], { cwd: repo, stdio: "inherit" });
  process.exit(attacker.status ?? 1);
}

/** The benchmark's own files and the ping route: copied from the working tree whatever the source. */
function overlay(): string[] {
  const files = git("ls-files", "-co", "--exclude-standard", "-z", "--", "bench", "app/api/ping").split("\0").filter(Boolean);
  return [...files.filter((f) => f.endsWith(".ts") && !f.startsWith("bench/results/")), ...withFiles];
}

/** What the build depends on; the bench's own files are copied afresh each run and are not part of it. */
function buildKey(): string {
  const hash = createHash("sha256").update(source);
  if (source === "head") {
    hash.update(git("rev-parse", "HEAD"));
    const ping = path.join(repo, "app/api/ping/route.ts");
    if (existsSync(ping)) hash.update(readFileSync(ping));
    for (const f of withFiles) hash.update(f).update(readFileSync(path.join(repo, f)));
  } else {
    for (const f of workingTreeFiles(repo).filter((f) => !f.startsWith("bench/")).sort()) hash.update(f).update(readFileSync(path.join(repo, f)));
  }
  return hash.digest("hex");
}

function describeSource(): string {
  const commit = git("rev-parse", "--short", "HEAD").trim();
  if (source === "head") return `HEAD ${commit} (committed code only) + ${["app/api/ping/route.ts", ...withFiles].join(", ")} and bench/ from the working tree`;
  const dirty = git("status", "--short").trim().split("\n").filter(Boolean).length;
  return `working tree at ${commit} with ${dirty} uncommitted changes`;
}

function prepare(): void {
  const key = buildKey();
  const keyFile = path.join(app, ".bench-build-key");
  const fresh = !args.includes("--rebuild") && existsSync(path.join(app, ".next/BUILD_ID")) && existsSync(keyFile) && readFileSync(keyFile, "utf8") === key;
  if (!fresh) {
    log(`copying the app (${source === "head" ? "git archive HEAD" : "working tree"}) to ${app}`);
    copyApp(repo, app, source === "head" ? { commit: "HEAD" } : "worktree");
  }
  for (const f of overlay()) cpSync(path.join(repo, f), path.join(app, f));
  if (fresh) {
    log(`reusing the build in ${app} (same source)`);
    return;
  }
  log(`building the copy with next build (about a minute; logs in ${root})`);
  const t0 = Date.now();
  buildApp(app, root);
  writeFileSync(keyFile, key);
  log(`built in ${Math.round((Date.now() - t0) / 1000)} s`);
}

prepare();
const out = path.resolve(repo, option("--out") ?? "bench/results");
const own = new Set(["--rebuild", "--source", "--out", "--with", "--peer"]);
const passOn = args.filter((a, i) => !own.has(a) && !own.has(args[i - 1] ?? ""));
const child = spawn(process.execPath, ["--import", "tsx", "bench/suite.ts", ...passOn, "--out", out, "--source", describeSource(), "--peer", peer, "--command", `npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`], {
  cwd: app,
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 1));
