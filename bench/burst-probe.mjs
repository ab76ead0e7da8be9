/**
 * Preloaded into a server by `bench/burst.ts --probe` (NODE_OPTIONS=--import=<this file>): every
 * 5 ms it records how late a timer fired (event-loop delay) and every 50 ms the CPU time of each
 * of the process's threads (/proc/self/task/<tid>/stat; the main thread's tid is the pid). At
 * exit it writes the samples, with wall-clock times, to BURST_PROBE_OUT, so the bench can split
 * them into the quiet and burst windows. With BURST_PROBE_PROFILE it also records a V8 CPU
 * profile of the main thread there (node refuses --cpu-prof in NODE_OPTIONS). Plain JavaScript:
 * the built server runs no TS loader.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";

const out = process.env.BURST_PROBE_OUT;
if (out) {
  const TICK_MS = 5;
  const CPU_EVERY = 10;
  const hz = 100; // USER_HZ on Linux
  const lag = []; // [wallMs, lateMs]
  const cpu = []; // [wallMs, { tid: cpuMs }]
  const wall = () => performance.timeOrigin + performance.now();
  const threads = () => {
    const times = {};
    for (const tid of readdirSync("/proc/self/task")) {
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        // utime and stime are fields 14 and 15 of stat; fields[0] here is field 3.
        times[tid] = ((Number(fields[11]) + Number(fields[12])) * 1000) / hz;
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return times;
  };
  let expected = performance.now() + TICK_MS;
  let n = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    lag.push([wall(), Math.max(0, now - expected)]);
    expected = now + TICK_MS;
    if (++n % CPU_EVERY === 0) cpu.push([wall(), threads()]);
  }, TICK_MS);
  timer.unref();
  const profileOut = process.env.BURST_PROBE_PROFILE;
  const session = profileOut ? new Session() : undefined;
  if (session) {
    session.connect();
    session.post("Profiler.enable");
    session.post("Profiler.start");
  }
  process.on("exit", () => {
    // An in-thread inspector session answers synchronously, so this works in an exit handler.
    session?.post("Profiler.stop", (error, result) => {
      if (!error) writeFileSync(profileOut, JSON.stringify(result.profile));
    });
    cpu.push([wall(), threads()]);
    // The monotonic clock in µs alongside the wall clock, to place a --cpu-prof profile (whose
    // times are monotonic µs) in the same windows.
    const clock = [wall(), Number(process.hrtime.bigint() / 1000n)];
    writeFileSync(out, JSON.stringify({ pid: process.pid, clock, lag, cpu }));
  });
}
