import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

/** Alive and not a zombie (a container's first process may never reap what it inherits). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  return !alive(pid);
}

describe("tracked child processes", () => {
  it("are killed when the process that started them exits without stopping them; untracked ones are not", async () => {
    // A stand-in for a Playwright worker whose test timed out: it starts two long-lived
    // processes, tracks one, and exits without stopping either.
    const script = `
      import { spawn } from "node:child_process";
      import { tracked } from ${JSON.stringify(new URL("./children.ts", import.meta.url).href)};
      const kept = tracked(spawn("sleep", ["300"], { stdio: "ignore" }));
      const loose = spawn("sleep", ["300"], { stdio: "ignore" });
      console.log(JSON.stringify({ kept: kept.pid, loose: loose.pid }));
      process.exit(0);
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk));
    await once(child, "exit");
    const { kept, loose } = JSON.parse(out) as { kept: number; loose: number };
    try {
      assert.ok(await gone(kept), "the tracked process outlived its parent");
      assert.ok(alive(loose), "the untracked control died too, so the test proves nothing");
    } finally {
      try {
        process.kill(loose, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  });
});
