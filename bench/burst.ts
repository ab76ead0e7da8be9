/**
 * `npx tsx bench/burst.ts`: a burst of 50 concurrent registrations with one email, at the
 * production password hash (Argon2id, 19 MiB), against one instance of the built app, while a
 * steady stream of captcha fetches measures whether anything starves. Prints how the 50 ended
 * (one 201, the rest 409, or 503 server_busy when the bound refuses), their latencies, and the
 * captcha route's p50/p99 during the burst against the same stream without it, in one run.
 *
 * Needs `npm run build` first, Postgres at TEST_DATABASE_URL (or the machine's), and redis-server.
 */
import { startCluster } from "../testing/cluster";
import { proof } from "../testing/pow";
import { startStack } from "../testing/stack";
import { TEST_SECRET } from "../testing/stores";

const BURST = 50;
const STREAM_MS = 6_000;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

async function captchaStream(base: string, until: () => boolean): Promise<number[]> {
  const times: number[] = [];
  // Two steady clients, as people loading the sign-up page would be.
  await Promise.all(
    [0, 1].map(async () => {
      while (!until()) {
        const started = performance.now();
        const response = await fetch(`${base}/api/captcha`);
        await response.arrayBuffer();
        if (response.status === 200) times.push(performance.now() - started);
      }
    }),
  );
  return times;
}

const stack = await startStack((line) => console.log(`[burst] ${line}`));
const cluster = await startCluster({
  env: { ...stack.env, SESSION_STORE: "cookie", SESSION_SECRET: TEST_SECRET, CAPTCHA_TEST_MODE: "1", RATE_LIMIT_MULTIPLIER: "1000" },
  instances: 1,
});
const base = `http://127.0.0.1:${cluster.instances[0]!.port}`;
try {
  // Warm-up: the first requests load code and open connections.
  for (let i = 0; i < 20; i++) await (await fetch(`${base}/api/captcha`)).arrayBuffer();

  const quietEnd = Date.now() + STREAM_MS;
  const quiet = await captchaStream(base, () => Date.now() > quietEnd);

  // The 50 each need their own captcha and proof, fetched before the burst starts.
  const email = `burst.${Date.now()}@example.test`;
  const prepared = await Promise.all(
    Array.from({ length: BURST }, async (_, i) => {
      const captcha = await fetch(`${base}/api/captcha`);
      const cookie = captcha.headers.getSetCookie()[0]!.split(";")[0]!;
      return { cookie, body: JSON.stringify({ username: `burst_${Date.now()}_${i}`, email, password: "burst-password-1", captcha: captcha.headers.get("x-captcha-answer"), altcha: await proof(base) }) };
    }),
  );
  let done = false;
  const stream = captchaStream(base, () => done);
  const burstStarted = performance.now();
  const results = await Promise.all(
    prepared.map(async ({ cookie, body }) => {
      const started = performance.now();
      const response = await fetch(`${base}/api/register`, { method: "POST", headers: { "content-type": "application/json", cookie }, body });
      const code = response.status === 201 ? "201" : `${response.status} ${((await response.json()) as { error: { code: string } }).error.code}`;
      return { code, ms: performance.now() - started };
    }),
  );
  const burstMs = performance.now() - burstStarted;
  // Keep measuring a moment past the burst's end, as long as the quiet stream ran.
  await new Promise((r) => setTimeout(r, Math.max(0, STREAM_MS - burstMs)));
  done = true;
  const during = await stream;

  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.code, (counts.get(r.code) ?? 0) + 1);
  const latencies = results.map((r) => r.ms);
  console.log(`burst of ${BURST} registrations with one email, Argon2id 19 MiB: ${[...counts].map(([c, n]) => `${n}× ${c}`).join(", ")}`);
  console.log(`  registration latency: p50 ${Math.round(percentile(latencies, 50))} ms, max ${Math.round(Math.max(...latencies))} ms; burst over in ${Math.round(burstMs)} ms`);
  const q99 = percentile(quiet, 99);
  const d99 = percentile(during, 99);
  console.log(`  captcha without the burst: ${quiet.length} fetches, p50 ${percentile(quiet, 50).toFixed(1)} ms, p99 ${q99.toFixed(1)} ms`);
  console.log(`  captcha during the burst:  ${during.length} fetches, p50 ${percentile(during, 50).toFixed(1)} ms, p99 ${d99.toFixed(1)} ms`);
  console.log(`  captcha p99 during ÷ without: ${(d99 / q99).toFixed(2)}× (goal ≤ 2×)`);
} finally {
  await cluster.stop();
  await stack.stop();
}
