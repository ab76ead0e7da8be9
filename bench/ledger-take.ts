/**
 * `npx tsx bench/ledger-take.ts [DATABASE_URL [REDIS_URL]]`: what a captcha ledger's take costs
 * when it leaves a tombstone (the ledgers in lib/captcha/ledgers, which tell a used captcha from a
 * lost one) against the delete it replaced (`DELETE … RETURNING`, `GETDEL`), side by side in one
 * run, alternating rounds. Each measurement puts N records, then takes each one (an answer), then
 * each one again (a replay, or the other of two concurrent answers); only the takes are timed.
 */
import { randomUUID } from "node:crypto";
import { tcpTransport } from "@holdfast/session/redis/tcp";
import type { CaptchaLedger } from "../lib/captcha/ledger";
import { postgresLedger } from "../lib/captcha/ledgers/postgres";
import { redisLedger } from "../lib/captcha/ledgers/redis";
import { closeDb, createDb, sql } from "../lib/db";
import { migrate } from "../lib/migrate";

const url = process.argv[2] ?? process.env.DATABASE_URL;
const redisUrl = process.argv[3] ?? process.env.REDIS_URL;
if (!url) throw new Error("bench/ledger-take: pass a postgres:// URL or set DATABASE_URL");
const N = 1_000;
const ROUNDS = 5;
const TTL = 300_000;

/** The milliseconds per first take and per second take of N fresh records. */
async function perTake(ledger: CaptchaLedger, take: (id: string) => Promise<unknown>): Promise<[number, number]> {
  const ids = Array.from({ length: N }, () => `bench-${randomUUID()}`);
  for (const id of ids) await ledger.put(id, { answerHash: "a".repeat(64), expiresAt: Date.now() + TTL }, TTL);
  const timed = async () => {
    const started = performance.now();
    for (const id of ids) await take(id);
    return (performance.now() - started) / N;
  };
  return [await timed(), await timed()];
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

async function row(label: string, ledger: CaptchaLedger, deleting: (id: string) => Promise<unknown>) {
  const tomb: [number, number][] = [];
  const del: [number, number][] = [];
  await perTake(ledger, (id) => ledger.take(id));
  for (let round = 0; round < ROUNDS; round++) {
    del.push(await perTake(ledger, deleting));
    tomb.push(await perTake(ledger, (id) => ledger.take(id)));
  }
  for (const [which, i] of [["first take", 0], ["second take", 1]] as const) {
    const d = median(del.map((m) => m[i]));
    const t = median(tomb.map((m) => m[i]));
    console.log(`| ${label}, ${which} | ${d.toFixed(3)} | ${t.toFixed(3)} | ${(t / d).toFixed(2)}× |`);
  }
}

console.log(`captcha ledger take, ${N} records taken twice each per measurement, ${ROUNDS} alternating rounds, median ms per take`);
console.log("| ledger | delete ms | tombstone ms | tombstone ÷ delete |\n|---|---:|---:|---:|");
await migrate(url);
const db = createDb(url);
const pool = sql(db);
await row("Postgres", postgresLedger(db, { sweepIntervalMs: Infinity }), (id) => pool.query("DELETE FROM captchas WHERE id = $1 RETURNING answer_hash, expires_at", [id]));
await pool.query("DELETE FROM captchas WHERE id LIKE 'bench-%'");
await closeDb(db);
if (redisUrl) {
  const transport = tcpTransport(redisUrl);
  const prefix = `bench-ledger-${randomUUID().slice(0, 8)}`;
  await row("Redis (TCP)", redisLedger(transport, prefix), (id) => transport.send(["GETDEL", `${prefix}:captcha:${id}`]));
  await transport.close();
}
