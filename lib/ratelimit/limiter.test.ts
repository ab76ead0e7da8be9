import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { closeTestDb, required, testDb } from "../../testing/services";
import { sql } from "../db";
import { tcpTransport } from "@holdfast/session/redis/tcp";
import { databaseLimiter } from "./database";
import { gcra, memoryLimiter, type RateLimiter } from "./limiter";
import { redisLimiter } from "./redis";

const transport = tcpTransport(required("REDIS_URL"));
after(async () => {
  await transport.close();
  await closeTestDb();
});

describe("GCRA", () => {
  it("lets a burst of `limit` through, then spaces requests by period/limit", () => {
    const rule = { limit: 3, periodMs: 3_000 };
    let tat: number | undefined;
    const at = (now: number) => {
      const step = gcra(tat, now, rule);
      tat = step.tat;
      return step.verdict;
    };
    assert.deepEqual([at(0), at(0), at(0)].map((v) => v.ok), [true, true, true]);
    assert.deepEqual(at(0), { ok: false, retryAfterMs: 1_000 });
    assert.equal(at(999).ok, false);
    assert.equal(at(1_000).ok, true);
    assert.equal(at(1_000).ok, false);
  });
});

for (const [label, make] of [
  ["memory", () => memoryLimiter()],
  ["postgres", () => databaseLimiter(testDb())],
  ["redis", () => redisLimiter(transport, `rl-test-${randomUUID()}`)],
] as [string, () => RateLimiter][]) {
  describe(`rate limiter: ${label}`, () => {
    it("allows exactly the limit under 50 concurrent hits, and says when to retry", async () => {
      const limiter = make();
      const key = `k-${randomUUID()}`;
      const verdicts = await Promise.all(Array.from({ length: 50 }, () => limiter.hit(key, { limit: 10, periodMs: 60_000 })));
      assert.equal(verdicts.filter((v) => v.ok).length, 10);
      const refused = verdicts.find((v) => !v.ok) as { retryAfterMs: number };
      assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 6_000, `retry after ${refused.retryAfterMs}`);
    });

    it("keys are independent", async () => {
      const limiter = make();
      const rule = { limit: 1, periodMs: 60_000 };
      assert.equal((await limiter.hit(`a-${randomUUID()}`, rule)).ok, true);
      assert.equal((await limiter.hit(`b-${randomUUID()}`, rule)).ok, true);
    });
  });
}

describe("rate limiter: postgres sweep", () => {
  it("sweeps every expired limit, more than one batch of them, and leaves live ones", async () => {
    const prefix = `sweep-${randomUUID()}`;
    const pool = sql(testDb());
    // 2,500 expired limits (as many typed names as a credential-stuffing minute makes) and one live.
    await pool.query("INSERT INTO rate_limits (key, tat_ms, expires_at) SELECT $1 || ':' || g, 0, now() - interval '1 minute' FROM generate_series(1, 2500) g", [prefix]);
    await pool.query("INSERT INTO rate_limits (key, tat_ms, expires_at) VALUES ($1, 0, now() + interval '1 hour')", [`${prefix}:live`]);
    const errors: unknown[] = [];
    await databaseLimiter(testDb(), { onSweepError: (e) => errors.push(e) }).hit(`${prefix}:hit`, { limit: 5, periodMs: 60_000 });
    const left = async () => (await pool.query<{ n: string }>("SELECT count(*) AS n FROM rate_limits WHERE key LIKE $1 || ':%' AND key <> $1 || ':hit'", [prefix])).rows[0]!.n;
    const deadline = Date.now() + 20_000;
    while ((await left()) !== "1" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await left(), "1");
    assert.deepEqual(errors, []);
    await pool.query("DELETE FROM rate_limits WHERE key LIKE $1 || ':%'", [prefix]);
  });
});

