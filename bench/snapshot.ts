/**
 * A private copy of the app, built the way production builds it, for the benchmarks to run
 * (bench/run.ts, bench/flows-ab.ts --next and bench/encoding.ts). Never the repository's own `.next`: other people
 * build and test in this checkout, and a rebuild in the middle of a run would swap the code under
 * the servers.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Files of the working tree, tracked or not (ignored ones left out). */
export function workingTreeFiles(repo: string): string[] {
  return execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: repo, encoding: "utf8" })
    .split("\0")
    .filter((f) => f && existsSync(path.join(repo, f)));
}

/**
 * Puts the app into `dir` (emptied first): a commit's tree through `git archive`, or the working
 * tree as it is, uncommitted changes included. node_modules is hard-linked (800 MB in a second,
 * and nothing in it is written to).
 */
export function copyApp(repo: string, dir: string, from: { commit: string } | "worktree"): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (from === "worktree") for (const f of workingTreeFiles(repo)) cpSync(path.join(repo, f), path.join(dir, f));
  else execFileSync("tar", ["-x", "-C", dir], { input: execFileSync("git", ["archive", "--format=tar", from.commit], { cwd: repo, maxBuffer: 256 << 20 }) });
  try {
    execFileSync("cp", ["-al", path.join(repo, "node_modules"), path.join(dir, "node_modules")]);
  } catch {
    execFileSync("cp", ["-a", path.join(repo, "node_modules"), path.join(dir, "node_modules")]);
  }
}

function run(command: string, argv: string[], cwd: string, logFile: string): void {
  const result = spawnSync(command, argv, { cwd, encoding: "utf8", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  writeFileSync(logFile, `${result.stdout ?? ""}${result.stderr ?? ""}`);
  if (result.status !== 0) throw new Error(`bench: \`${command} ${argv.join(" ")}\` failed in ${cwd}; see ${logFile}`);
}

/**
 * Builds a copy as `npm run build` does: its own Prisma client, `next build`, the compiled
 * server (dist/server.mjs). Type errors do not stop it: `npm run typecheck` is their place, and a
 * benchmark measures what runs. Logs go to `logDir`.
 */
export function buildApp(dir: string, logDir: string): void {
  mkdirSync(logDir, { recursive: true });
  run(process.execPath, ["scripts/generate.mjs"], dir, path.join(logDir, "generate.log"));
  // Wrapped, so the project's config is used as it is and only the type check is left out.
  const config = existsSync(path.join(dir, "next.config.mjs")) ? "next.config.mjs" : undefined;
  if (config) {
    cpSync(path.join(dir, config), path.join(dir, "next.config.project.mjs"));
    writeFileSync(
      path.join(dir, config),
      `import project from "./next.config.project.mjs";\nexport default { ...project, typescript: { ...project.typescript, ignoreBuildErrors: true } };\n`,
    );
  }
  run("npx", ["next", "build"], dir, path.join(logDir, "build.log"));
  run(process.execPath, ["scripts/build-server.mjs"], dir, path.join(logDir, "build-server.log"));
  if (!existsSync(path.join(dir, ".next/server/app/api/ping/route.js"))) throw new Error(`bench: the build in ${dir} has no /api/ping route`);
}
