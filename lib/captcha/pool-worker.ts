/**
 * The thread that draws captchas ahead for lib/captcha/pool.ts. Each message from the pool is a
 * count; the thread draws that many, one at a time, and posts each back as { answer, svg }. The
 * answer comes from node:crypto (captchaText) and only ever travels to the pool, in the same
 * process: it is never written anywhere.
 *
 * With a `nice` above 0 the thread runs at that lower priority where the OS allows it.
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { drawCaptcha } from "./draw";

/** Linux: this thread's own id, which setpriority() takes to renice one thread. */
function ownThreadId(): number | undefined {
  try {
    const id = Number(readlinkSync("/proc/thread-self").split("/").pop());
    return Number.isInteger(id) && id > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

const nice = Number((workerData as { nice?: number } | undefined)?.nice ?? 0);
const tid = nice > 0 ? ownThreadId() : undefined;
if (tid !== undefined) {
  try {
    setPriority(tid, nice);
  } catch {
    // Not permitted here: draw at the normal priority.
  }
}

parentPort?.on("message", (count: unknown) => {
  if (typeof count !== "number") return;
  for (let i = 0; i < count; i++) parentPort!.postMessage(drawCaptcha());
});
