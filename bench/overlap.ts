/**
 * What overlapping the session read saves when the store is far away:
 *
 *   DATABASE_URL=<migrated> tsx bench/overlap.ts [--delay-ms 10] [--rounds 3] [--count 15]
 *
 * The real endpoints in this process (memory store), with every store call, ledger call and
 * limiter hit made to wait `--delay-ms` first, as a round trip to a remote Redis or Postgres
 * would (testing/slow-services.ts). Rounds alternate between the code as it is ("after") and the
 * same code with `Session.prefetch` turned into a no-op ("before": every read waits for its first
 * use, as before the prefetches). Prints the median time per request and its ratio, and writes
 * bench/results/<date>-overlap.md.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Session } from "@holdfast/session";
import { getCaptcha } from "../lib/api/captcha";
import { login } from "../lib/api/login";
import { register } from "../lib/api/register";
import { parseConfig } from "../lib/env";
import { createServices } from "../lib/services";
import { cookieOf, slowServices, solvedProof } from "../testing/slow-services";
import { median } from "./stats";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  const value = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} wants a positive number`);
  return value;
};
const DELAY = option("--delay-ms", 10);
const ROUNDS = option("--rounds", 3);
const COUNT = option("--count", 15);
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error("bench/overlap.ts needs DATABASE_URL (a migrated database: it registers users)");

const services = createServices(
  parseConfig({
    SESSION_SECRET: "overlap-bench-secret-0123456789-0123456789",
    DATABASE_URL: databaseUrl,
    SESSION_STORE: "memory",
    CAPTCHA_TEST_MODE: "1",
    PASSWORD_HASH_COST: "1",
    RATE_LIMIT_MULTIPLIER: "1000000",
  }),
);
const { call } = slowServices(services, () => DELAY);
async function timed(work: () => Promise<Response>, status: number): Promise<{ ms: number; response: Response }> {
  const t0 = performance.now();
  const response = await work();
  const ms = performance.now() - t0;
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}: ${await response.text()}`);
  return { ms, response };
}

type Sample = Record<"captcha on a live session" | "register" | "login", number>;

/** One sign-up and one login, timing the three requests that read a session. */
async function flow(): Promise<Sample> {
  const first = await call(getCaptcha);
  const captcha = await timed(() => call(getCaptcha, { cookie: cookieOf(first) }), 200);
  const altcha = await solvedProof(call);
  const id = randomBytes(6).toString("hex");
  const account = { username: `ov_${id}`, email: `ov.${id}@example.test`, password: `password-${id}` };
  const body = JSON.stringify({ ...account, captcha: captcha.response.headers.get("x-captcha-answer"), altcha });
  const made = await timed(() => call(register, { method: "POST", body, cookie: cookieOf(first) }), 201);
  const again = await timed(() => call(login, { method: "POST", body: JSON.stringify({ login: account.username, password: account.password }), cookie: cookieOf(made.response) }), 200);
  return { "captcha on a live session": captcha.ms, register: made.ms, login: again.ms };
}

const prefetch = Session.prototype.prefetch;
const samples: Record<"before" | "after", Sample[]> = { before: [], after: [] };
await flow();
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of ["before", "after"] as const) {
    Session.prototype.prefetch = mode === "after" ? prefetch : () => {};
    for (let i = 0; i < COUNT; i++) samples[mode].push(await flow());
  }
}
Session.prototype.prefetch = prefetch;
await services.close();

const lines: string[] = [];
for (const what of ["captcha on a live session", "register", "login"] as const) {
  const b = median(samples.before.map((s) => s[what])), a = median(samples.after.map((s) => s[what]));
  lines.push(`| ${what} | ${b.toFixed(1)} ms | ${a.toFixed(1)} ms | ${(a / b).toFixed(2)}× | ${((b - a) / DELAY).toFixed(2)} |`);
}
const table = [
  `| request | before (read at first use) | after (read prefetched) | after ÷ before | round trips saved (÷ ${DELAY} ms) |`,
  "|---|---:|---:|---:|---:|",
  ...lines,
];
console.log(table.join("\n"));
const date = new Date().toISOString().slice(0, 10);
const out = path.resolve(import.meta.dirname, "results");
mkdirSync(out, { recursive: true });
writeFileSync(
  path.join(out, `${date}-overlap.md`),
  [
    `# The session read overlapped with other round trips (${date})`,
    "",
    `\`tsx bench/overlap.ts --delay-ms ${DELAY} --rounds ${ROUNDS} --count ${COUNT}\`: the endpoints in-process, every store call, ledger call and limiter hit ${DELAY} ms away; medians of ${ROUNDS * COUNT} flows each, rounds alternating.`,
    "",
    ...table,
    "",
  ].join("\n"),
);
