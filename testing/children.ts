/**
 * Processes the test helpers start (app instances, nginx, redis-server, pgbouncer) must not
 * outlive the process that started them. Playwright runs no `finally` of a test that hits its
 * timeout, so a cluster started there used to keep running after the suite; whatever is tracked
 * here when this process exits is killed.
 */
import type { ChildProcess } from "node:child_process";

const live = new Set<ChildProcess>();

function killTracked(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/** Kills the child when this process exits, unless it has exited first. Returns the child. */
export function tracked<T extends ChildProcess>(child: T): T {
  if (live.size === 0) process.once("exit", killTracked);
  live.add(child);
  child.once("exit", () => {
    live.delete(child);
    if (live.size === 0) process.removeListener("exit", killTracked);
  });
  return child;
}
