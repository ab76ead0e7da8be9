/**
 * `tsx bench/speedups.ts`: the speed-ups the profile led to, each measured before and after in
 * this one run, in-process, against a private redis-server and the local Upstash REST server.
 *
 * 1. The cookie store kept no unsealed cookies: every read paid two key derivations, an HMAC
 *    and a decryption. Now recent cookies are kept ("before" = a store with an empty cache,
 *    "after" = the same cookie read again).
 * 2. A Redis login deleted the old session and created the new one in two round trips. Now one
 *    script swaps them ("before" = the same store with `rotate` hidden, so the core falls back).
 * 3. Scripts went as EVAL with their whole source; now as EVALSHA.
 * 4. The app sent Upstash REST commands through `fetch` (`@upstash/redis`); now through an
 *    undici connection pool (`nodeRestTransport`). Rounds alternate; besides the time per
 *    command, the CPU this process spent on it (the REST server runs in this process too, so
 *    both figures include its share alike).
 * 5. The cookie store sealed through iron-session 8 (iron over WebCrypto); now through
 *    @hapi/iron (the same iron seal over node:crypto). "Before" = iron-session's sealData and
 *    unsealData with the options the store used; "after" = the store's create and a read of a
 *    cookie it has not seen. 16 operations in flight, as under a loaded server; rounds alternate;
 *    time and this process's CPU per operation.
 * 6. A proof-of-work challenge was signed by altcha-lib (two HMACs through WebCrypto); now
 *    altcha-lib makes the parameters and node:crypto signs ("before" = altcha-lib's
 *    createChallenge with both secrets, "after" = issueChallenge over a ledger that keeps
 *    nothing). 16 in flight, rounds alternating, this process's CPU per challenge.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startUpstashRestServer } from "../testing/upstash-rest/server";
import { Session } from "@holdfast/session";
import type { SessionStore } from "@holdfast/session";
import { createCookieStore, sealPasswords } from "@holdfast/session/stores/cookie";
import { createRedisStore } from "@holdfast/session/stores/redis";
import { restTransport } from "@holdfast/session/redis/rest";
import { nodeRestTransport } from "@holdfast/session/redis/rest-node";
import { tcpTransport } from "@holdfast/session/redis/tcp";
import { luaScript, type RedisTransport } from "@holdfast/session/redis";
import { createChallenge } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/sha";
import { sealData, unsealData } from "iron-session";
import { altchaSecrets, issueChallenge } from "../lib/pow/pow";
import { startRedisServer } from "../testing/stack";
import { median } from "./stats";

const lines: string[] = [];
const say = (line: string) => {
  console.log(`[speedups] ${line}`);
  lines.push(line);
};

async function perOp(label: string, n: number, op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(50, n); i++) await op();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await op();
  const us = ((performance.now() - t0) / n) * 1000;
  say(`${label}: ${us.toFixed(1)} µs per operation (${n} runs)`);
  return us;
}

/** Runs `op(i)` for i < n with 16 at a time, as under a loaded server; returns µs of wall time and of this process's CPU per operation. */
async function inFlight(n: number, op: (i: number) => Promise<unknown>): Promise<{ us: number; cpu: number }> {
  let i = 0;
  const cpu0 = process.cpuUsage(), t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (i < n) await op(i++);
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { us: ((performance.now() - t0) / n) * 1000, cpu: (cpu.user + cpu.system) / n };
}

const rows: [string, string, string, string][] = [];
const row = (what: string, before: number, after: number, unit: string) =>
  rows.push([what, `${before.toFixed(1)} ${unit}`, `${after.toFixed(1)} ${unit}`, `${(before / after).toFixed(2)}×`]);

// 1. Cookie unseal.
const cookieOptions = { secrets: ["bench-secret-".padEnd(48, "x")], cookieName: "holdfast_session", ttlSeconds: 604_800 };
const now = Date.now();
const sealer = createCookieStore(cookieOptions);
const cookie = await sealer.create({ data: {}, userId: randomUUID(), createdAt: now, lastActiveAt: now }, now);
const coldStores = Array.from({ length: 2_000 }, () => createCookieStore(cookieOptions));
let next = 0;
const cold = await perOp("cookie read, unsealed (before)", 1_900, () => coldStores[next++]!.read(cookie, now));
const warm = await perOp("cookie read, kept from an earlier read (after)", 1_900, () => sealer.read(cookie, now));
row("cookie store: read of a known cookie", cold, warm, "µs");

// 2 and 3 over both transports.
const redis = await startRedisServer();
const rest = await startUpstashRestServer({ redisUrl: redis.url, token: "bench" });
const transports: [string, RedisTransport][] = [
  ["TCP", tcpTransport(redis.url)],
  ["REST", restTransport(rest.url, "bench")],
];
const options = { idleTimeoutMs: 3_600_000, absoluteTimeoutMs: 7_200_000 };
const withoutRotate = (store: SessionStore): SessionStore => ({ ...store, rotate: undefined });

for (const [name, transport] of transports) {
  const store = createRedisStore(transport, { prefix: `bench-${randomUUID()}` });
  const login = async (s: SessionStore) => {
    const first = new Session(s, undefined, options);
    await first.set("captcha", { id: "x" });
    const token = ((await first.commit()) as { value: string }).value;
    const session = new Session(s, token, options);
    await session.logIn(randomUUID());
    const t0 = performance.now();
    await session.commit();
    return performance.now() - t0;
  };
  const time = async (s: SessionStore, label: string) => {
    let total = 0;
    const n = 300;
    for (let i = 0; i < n; i++) total += await login(s);
    const ms = total / n;
    say(`${name}: token rotation at login, ${label}: ${ms.toFixed(3)} ms`);
    return ms;
  };
  const before = await time(withoutRotate(store), "delete + create (before)");
  const after = await time(store, "one script (after)");
  row(`redis over ${name}: token rotation at login (2 → 1 round trips)`, before * 1000, after * 1000, "µs");

  const source = "return redis.call('GET', KEYS[1])";
  const bigSource = `${source} -- ${"x".repeat(600)}`;
  const bySha = luaScript(bigSource);
  const evalUs = await perOp(`${name}: EVAL with a 650-byte script (before)`, 500, () => transport.send(["EVAL", bigSource, "1", "k"]));
  const shaUs = await perOp(`${name}: EVALSHA (after)`, 500, () => bySha(transport, ["k"], []));
  row(`redis over ${name}: one scripted command`, evalUs, shaUs, "µs");
  await transport.close();
}
// 4. One REST command through fetch and through undici, rounds alternating.
{
  const viaFetch = restTransport(rest.url, "bench"), viaUndici = nodeRestTransport(rest.url, "bench");
  const key = `bench-${randomUUID()}`;
  await viaFetch.send(["SET", key, JSON.stringify({ data: { captcha: { id: "x".repeat(22) } }, userId: null }), "PX", "600000"]);
  const per = { fetch: { us: [] as number[], cpu: [] as number[] }, undici: { us: [] as number[], cpu: [] as number[] } };
  const n = 1_000;
  for (let round = 0; round < 5; round++) {
    for (const [name, t] of [["fetch", viaFetch], ["undici", viaUndici]] as const) {
      for (let i = 0; i < 50; i++) await t.send(["GET", key]);
      const cpu0 = process.cpuUsage(), t0 = performance.now();
      for (let i = 0; i < n; i++) await t.send(["GET", key]);
      const cpu = process.cpuUsage(cpu0);
      per[name].us.push(((performance.now() - t0) / n) * 1000);
      per[name].cpu.push((cpu.user + cpu.system) / n);
    }
  }
  for (const name of ["fetch", "undici"] as const) {
    say(`REST GET through ${name}: ${median(per[name].us).toFixed(1)} µs and ${median(per[name].cpu).toFixed(1)} µs of CPU per command (median of 5 rounds of ${n}; rounds ${per[name].us.map((u) => u.toFixed(0)).join(", ")} µs)`);
  }
  row("redis over REST: one command, wall time (fetch → undici)", median(per.fetch.us), median(per.undici.us), "µs");
  row("redis over REST: one command, this process's CPU (fetch → undici)", median(per.fetch.cpu), median(per.undici.cpu), "µs");
  await viaFetch.send(["DEL", key]);
  await viaFetch.close();
  await viaUndici.close();
}
await rest.close();
await redis.stop();

// 5. Sealing and unsealing: iron-session (WebCrypto) against @hapi/iron (node:crypto), rounds alternating.
{
  const password = sealPasswords(cookieOptions.secrets);
  const ttl = cookieOptions.ttlSeconds;
  const record = () => ({ data: { captcha: { id: randomUUID(), expiresAt: now + 300_000 } }, userId: null, createdAt: now, lastActiveAt: now });
  const n = 1_600;
  const store = createCookieStore(cookieOptions);
  const sealedBy = {
    before: await Promise.all(Array.from({ length: n }, () => sealData(record(), { password, ttl }))),
    after: await Promise.all(Array.from({ length: n }, () => store.create(record(), now))),
  };
  // Each side must open the other's seals, or the comparison is of two formats.
  const crossed: unknown[] = [await createCookieStore(cookieOptions).read(sealedBy.before[0]!, now), await unsealData(sealedBy.after[0]!, { password, ttl })];
  if (crossed.some((r) => typeof r !== "object" || r === null || !("data" in r))) throw new Error("speedups: iron-session and the cookie store do not open each other's seals");
  type Op = (i: number, reader: SessionStore) => Promise<unknown>;
  const ops: [string, Op][] = [
    ["seal, iron-session (before)", () => sealData(record(), { password, ttl })],
    ["seal, the store over @hapi/iron (after)", () => store.create(record(), now)],
    ["unseal, iron-session (before)", (i) => unsealData(sealedBy.before[i]!, { password, ttl })],
    // `reader` is a new store for each round, so every read misses its cache of opened cookies.
    ["unseal, the store over @hapi/iron (after)", (i, reader) => reader.read(sealedBy.after[i]!, now)],
  ];
  for (const [, op] of ops) for (let w = 0; w < 50; w++) await op(w, createCookieStore(cookieOptions));
  const per = new Map<string, { us: number[]; cpu: number[] }>();
  for (let round = 0; round < 5; round++) {
    for (const [name, op] of round % 2 ? [...ops].reverse() : ops) {
      const reader = createCookieStore(cookieOptions);
      const m = await inFlight(n, (i) => op(i, reader));
      const got = per.get(name) ?? { us: [], cpu: [] };
      got.us.push(m.us);
      got.cpu.push(m.cpu);
      per.set(name, got);
    }
  }
  for (const [name, m] of per) say(`cookie ${name}: ${median(m.us).toFixed(1)} µs and ${median(m.cpu).toFixed(1)} µs of CPU per operation (median of 5 rounds of ${n}, 16 in flight; CPU per round ${m.cpu.map((c) => c.toFixed(0)).join(", ")} µs)`);
  const pick = (name: string, what: "us" | "cpu") => median(per.get(name)![what]);
  row("cookie store: seal, CPU (iron-session → @hapi/iron)", pick("seal, iron-session (before)", "cpu"), pick("seal, the store over @hapi/iron (after)", "cpu"), "µs");
  row("cookie store: unseal of an unseen cookie, CPU (iron-session → @hapi/iron)", pick("unseal, iron-session (before)", "cpu"), pick("unseal, the store over @hapi/iron (after)", "cpu"), "µs");
  row("cookie store: seal, wall time, 16 in flight", pick("seal, iron-session (before)", "us"), pick("seal, the store over @hapi/iron (after)", "us"), "µs");
}

// 6. Signing a proof-of-work challenge: altcha-lib (WebCrypto) against node:crypto, rounds alternating.
{
  const hmacKey = "bench-pow-key-".padEnd(64, "x");
  const secrets = altchaSecrets(hmacKey);
  const keepsNothing = { put: async () => {}, take: async () => null };
  const n = 2_000;
  const sides: [string, () => Promise<unknown>][] = [
    ["altcha-lib signs (before)", () => createChallenge({ algorithm: "SHA-256", cost: 1, counter: Math.floor(Math.random() * 1001), deriveKey, data: { level: "normal" }, expiresAt: Math.floor(Date.now() / 1000) + 300, hmacSignatureSecret: secrets.signature, hmacKeySignatureSecret: secrets.keySignature })],
    ["node:crypto signs (after)", () => issueChallenge(keepsNothing, { hmacKey, maxNumber: 1000, ttlMs: 300_000 })],
  ];
  for (const [, op] of sides) for (let w = 0; w < 100; w++) await op();
  const cpu = new Map<string, number[]>();
  for (let round = 0; round < 5; round++) {
    for (const [name, op] of round % 2 ? [...sides].reverse() : sides) cpu.set(name, [...(cpu.get(name) ?? []), (await inFlight(n, op)).cpu]);
  }
  for (const [name, c] of cpu) say(`proof-of-work challenge, ${name}: ${median(c).toFixed(1)} µs of CPU (median of 5 rounds of ${n}, 16 in flight; rounds ${c.map((x) => x.toFixed(0)).join(", ")} µs)`);
  row("proof of work: issuing a challenge, CPU (altcha-lib's WebCrypto HMACs → node:crypto)", median(cpu.get(sides[0]![0])!), median(cpu.get(sides[1]![0])!), "µs");
}

const date = new Date().toISOString().slice(0, 10);
const out = path.resolve("bench/results");
mkdirSync(out, { recursive: true });
const md = [
  `# Speed-ups found by the profile, before and after in one run (${date})`,
  "",
  "In-process (`tsx bench/speedups.ts`), against a private redis-server and the local Upstash REST server; see the file's header for what each before and after is.",
  "",
  "| change | before | after | speed-up |",
  "|---|---:|---:|---:|",
  ...rows.map((r) => `| ${r.join(" | ")} |`),
  "",
  "```",
  ...lines,
  "```",
  "",
].join("\n");
writeFileSync(path.join(out, `${date}-speedups.md`), md);
say(`wrote bench/results/${date}-speedups.md`);
